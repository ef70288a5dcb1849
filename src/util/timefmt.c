/*
 * timefmt.c - reading RFC 3339 timestamps (timefmt.h).
 */
#include "util/timefmt.h"

#include <ctype.h>
#include <time.h>

int hn_digits(const char *p, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)p[i]))
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

size_t hn_rfc3339_parse(const char *p, size_t n, uint64_t *ns)
{
	struct tm tm = { 0 };
	size_t i = 19;
	long frac = 0, scale = 1000000000L;
	int off = 0;
	time_t t;

	if (n < 20 || p[4] != '-' || p[7] != '-' || (p[10] != 'T' && p[10] != ' ') ||
	    p[13] != ':' || p[16] != ':')
		return 0;
	tm.tm_year = hn_digits(p, 4) - 1900;
	tm.tm_mon = hn_digits(p + 5, 2) - 1;
	tm.tm_mday = hn_digits(p + 8, 2);
	tm.tm_hour = hn_digits(p + 11, 2);
	tm.tm_min = hn_digits(p + 14, 2);
	tm.tm_sec = hn_digits(p + 17, 2);
	if (tm.tm_year < 0 || tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour < 0 || tm.tm_hour > 23 || tm.tm_min < 0 ||
	    tm.tm_min > 59 || tm.tm_sec < 0 || tm.tm_sec > 60)
		return 0;
	if (i < n && p[i] == '.') {
		i++;
		while (i < n && isdigit((unsigned char)p[i])) {
			if (scale > 1) {
				scale /= 10;
				frac += (p[i] - '0') * scale;
			}
			i++;
		}
	}
	if (i < n && p[i] == 'Z') {
		i++;
	} else if (i + 6 <= n && (p[i] == '+' || p[i] == '-') && p[i + 3] == ':') {
		int h = hn_digits(p + i + 1, 2), m = hn_digits(p + i + 4, 2);
		if (h < 0 || m < 0)
			return 0;
		off = (h * 60 + m) * 60 * (p[i] == '-' ? -1 : 1);
		i += 6;
	} else {
		return 0;
	}
	t = timegm(&tm);
	if (t == (time_t)-1 || t - off < 0)
		return 0;
	*ns = (uint64_t)(t - off) * 1000000000ULL + (uint64_t)frac;
	return i;
}

