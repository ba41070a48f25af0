/*
 * fsmode.h — the modes of the data directory and what is in it.
 *
 * The data directory holds every run, every password hash and webhook URL:
 * it is for the server's user alone (directories 0700, files 0600), or with
 * the group option (`wb server --group-read yes`) also for its group, read
 * only (0750, 0640), e.g. for a backup job running as another user of that
 * group. The modes hold whatever umask the server was started with: the
 * process's umask is set before anything is created (SQLite creates
 * wb.db-wal and wb.db-shm with the database's mode, libc with the umask),
 * and the top-level entries of an existing directory are set at start.
 *
 * Threads: call before any thread starts (umask is per process).
 */
#ifndef WB_SERVER_FSMODE_H
#define WB_SERVER_FSMODE_H

/* Set the process umask for data files: 077, or 027 with group_read. */
void wbs__data_umask(int group_read);

/*
 * Set dir and its known entries (wb.db, wb.db-wal, wb.db-shm, server.url,
 * media/, blobs/) to the modes above, logging one line if any was looser
 * or different. Entries below media/ and blobs/ keep their modes: the
 * directories' own modes already keep others out. 0, or -1 (errno) if dir
 * cannot be changed.
 */
int wbs__data_modes(const char *dir, int group_read);

#endif
