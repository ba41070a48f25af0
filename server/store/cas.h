/*
 * cas.h — the store's one content-addressed file store (server/store only).
 *
 * Image files (<data>/media/ab/<sha256>) and artifact blobs
 * (<data>/blobs/ab/<sha256 from its third digit>) are named by the SHA-256
 * of their bytes. Those two layouts are what existing data directories and
 * backups hold, so they are kept exactly; this module is the only place
 * that knows them. A file appears whole or not at all: it is written to a
 * temporary name beside its final one, fsynced, renamed, and the directory
 * fsynced, every step checked (a failed fsync of the directory means the
 * rename may not survive a crash, and is an error like the others).
 *
 * Threads: any; two writers of the same hash race harmlessly (same bytes,
 * atomic rename).
 */
#ifndef WB_SERVER_STORE_CAS_H
#define WB_SERVER_STORE_CAS_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

typedef enum wbs__cas { WBS__CAS_IMAGE, WBS__CAS_BLOB } wbs__cas;

/* The directory of kind below the data directory ("media", "blobs"). */
const char *wbs__cas_dir_name(wbs__cas kind);
/* The path of the file of kind with hash sha below the data directory dir. */
void wbs__cas_path_in(const char *dir, wbs__cas kind, const char *sha, char *out, size_t cap);
/* The same below s's data directory. */
void wbs__cas_path(const wbs__store *s, wbs__cas kind, const char *sha, char *out, size_t cap);

/*
 * Write the len bytes at data as the file of kind/sha, unless a regular
 * file of that size is there already. A wbs__st: FULL when the disk is
 * (ENOSPC, EDQUOT), else UNAVAILABLE, with the step and path in err.
 */
int wbs__cas_put(const wbs__store *s, wbs__cas kind, const char *sha, const void *data, size_t len, wbs__err *err);

/*
 * Make the finished file tmp, open as fd, the file at path: create path's
 * directories, fsync fd, rename, fsync the directory. 0, or -1 with errno
 * and *step the failed step ("create the directory of", "fsync",
 * "rename", "fsync the directory of"). fd stays open (the caller's).
 */
int wbs__cas_commit(int fd, const char *tmp, const char *path, const char **step);

/* 1 with *size when the file of kind/sha is there, 0 when not (*size 0). */
int wbs__cas_size(const wbs__store *s, wbs__cas kind, const char *sha, uint64_t *size);
/* open(2) of the file of kind/sha, read-only: the descriptor, or -1 with errno. */
int wbs__cas_open(const wbs__store *s, wbs__cas kind, const char *sha);
/* Unlink the file of kind/sha: 1 removed, 0 not there, -1 with errno. */
int wbs__cas_remove(const wbs__store *s, wbs__cas kind, const char *sha);

#endif /* WB_SERVER_STORE_CAS_H */
