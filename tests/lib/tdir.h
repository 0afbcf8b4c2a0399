/*
 * tdir.h: a fresh temporary folder for one test, removed with everything in it afterwards.
 * Each test that writes files (device databases, server stores) makes its own, so no test
 * sees another's files; a crashed run leaves only /tmp/gs-TAG-XXXXXX behind.
 */
#ifndef GS_TESTS_TDIR_H
#define GS_TESTS_TDIR_H

/* Bytes a folder name needs: "/tmp/gs-" + a tag of up to 40 bytes + "-XXXXXX" + NUL. */
#define TDIR_MAX 64

/* Makes /tmp/gs-<tag>-XXXXXX and writes its name to dir; 0, or -1 (errno set; a tag
 * longer than 40 bytes is EINVAL). */
int tdir_make(char dir[TDIR_MAX], const char *tag);

/* Removes dir and everything under it (symbolic links are removed, never followed);
 * 0, or -1 when anything could not be removed. */
int tdir_remove(const char *dir);

#endif
