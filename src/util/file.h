/*
 * file.h - reading a whole file into memory.
 */
#ifndef HINOMI_UTIL_FILE_H
#define HINOMI_UTIL_FILE_H

#include <stddef.h>

/*
 * The whole of the regular file at path, NUL-terminated, into *out (the
 * caller frees it) and its length into *len.  At most max bytes: a bigger
 * file is -EFBIG; a directory -EISDIR, another kind of file -EINVAL.  A
 * file that shrinks while it is read gives what was read.  0 or -errno.
 */
int hn_file_read(const char *path, size_t max, char **out, size_t *len);

#endif
