/*
 * path.c - lexical path helpers (path.h).
 */
#include "util/path.h"

#include <stdio.h>
#include <string.h>

void hn_path_normalize(char *path)
{
	char *out = path, *p = path;

	if (*p != '/')
		return;
	while (*p) {
		char *seg;
		size_t len;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		seg = p;
		while (*p && *p != '/')
			p++;
		len = (size_t)(p - seg);
		if (len == 1 && seg[0] == '.')
			continue;
		if (len == 2 && seg[0] == '.' && seg[1] == '.') {
			while (out > path && *--out != '/')
				;
			continue;
		}
		*out++ = '/';
		memmove(out, seg, len);
		out += len;
	}
	if (out == path)
		*out++ = '/';
	*out = '\0';
}

char *hn_path_join(const char *dir, const char *path, char *out, size_t cap)
{
	if (!cap)
		return out;
	if (!path)
		path = "";
	if (path[0] == '/' || !dir || !dir[0])
		snprintf(out, cap, "%s", path);
	else
		snprintf(out, cap, "%s/%s", dir, path);
	hn_path_normalize(out);
	return out;
}
