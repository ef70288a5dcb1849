/*
 * path.h - lexical path helpers (no file system access).
 */
#ifndef HINOMI_UTIL_PATH_H
#define HINOMI_UTIL_PATH_H

#include <stddef.h>

/* Lexically normalise an absolute path in place ("//a/./b/../c" -> "/a/c");
 * a relative path is left as it is. */
void hn_path_normalize(char *path);

/* dir joined with path (path as it is when absolute or dir is NULL),
 * normalised, into out (cap bytes, cut to fit).  Returns out. */
char *hn_path_join(const char *dir, const char *path, char *out, size_t cap);

#endif
