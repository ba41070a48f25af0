/*
 * fs.h — small file-system steps the server repeats: mkdir -p and fsync
 * of a directory (so that a rename or a new entry survives a crash).
 *
 * Each returns 0, or -1 with errno set by the step that failed (a caller
 * tells ENOSPC/EDQUOT, "disk full", from other errors). Threads: any.
 */
#ifndef WB_SERVER_FS_H
#define WB_SERVER_FS_H

#include <sys/types.h>

/* Create dir and every missing parent with mode (existing ones are kept as they are). */
int wbs__mkdir_p(const char *dir, mode_t mode);
/* wbs__mkdir_p of the directory part of path (nothing for a bare name). */
int wbs__mkdir_parent(const char *path, mode_t mode);
/* fsync the directory dir. */
int wbs__fsync_dir(const char *dir);
/* fsync the directory that holds path ("." for a bare name). */
int wbs__fsync_parent(const char *path);

#endif
