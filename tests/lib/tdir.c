/*
 * tdir.c: see tdir.h. Removal walks the tree itself (nftw, children before their folder)
 * instead of running `rm -rf` through a shell, so a path never meets shell quoting.
 */
#define _XOPEN_SOURCE 700
#include "tdir.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tdir_make(char dir[TDIR_MAX], const char *tag)
{
    if (strlen(tag) > 40) {
        errno = EINVAL;
        return -1;
    }
    snprintf(dir, TDIR_MAX, "/tmp/gs-%s-XXXXXX", tag);
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 ? 0 : -1;
}

int tdir_remove(const char *dir)
{
    return nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}
