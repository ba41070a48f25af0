/*
 * fsmode.c — the modes of the data directory (see fsmode.h).
 *
 * Why both a umask and a chmod at start: the umask covers everything the
 * server and SQLite create from now on, whatever creates it, without a
 * chmod after each open; the chmod covers what an older version, another
 * tool or a looser umask left behind. Only the top level is walked: a
 * directory of a million blobs is not, and needs not be, since nobody but
 * the owner (and the group, with the option) can enter the directories.
 */
#include "util/fsmode.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "util/log.h"

void wbs__data_umask(int group_read)
{
	umask(group_read ? 027 : 077);
}

/* Set path to mode if it exists with another one; 1 changed, 0 not (or missing), -1 error. */
static int set_mode(const char *path, mode_t mode)
{
	struct stat st;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -1;
	if (S_ISLNK(st.st_mode) || (st.st_mode & 07777) == mode)
		return 0;
	return chmod(path, mode) ? -1 : 1;
}

int wbs__data_modes(const char *dir, int group_read)
{
	static const char *const files[] = {"wb.db", "wb.db-wal", "wb.db-shm", "server.url"};
	static const char *const dirs[] = {"media", "blobs"};
	mode_t dmode = group_read ? 0750 : 0700, fmode = group_read ? 0640 : 0600;
	char p[4200], q[600];
	int changed = 0, r;

	if ((r = set_mode(dir, dmode)) < 0)
		return -1;
	changed += r;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]) + sizeof(dirs) / sizeof(dirs[0]); i++) {
		int is_dir = i >= sizeof(files) / sizeof(files[0]);
		const char *name = is_dir ? dirs[i - sizeof(files) / sizeof(files[0])] : files[i];
		if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, name) >= sizeof(p))
			return -1;
		if ((r = set_mode(p, is_dir ? dmode : fmode)) < 0) {
			wbs__log(WBS__LOG_WARN, "cannot set the mode of a data file", "path=%s error=\"%s\"",
				 wbs__log_quote(q, sizeof(q), p), strerror(errno));
			continue;
		}
		changed += r;
	}
	if (changed)
		wbs__log(WBS__LOG_WARN, "data directory modes set", "dir=%s changed=%d dirs=%04o files=%04o",
			 wbs__log_quote(q, sizeof(q), dir), changed, (unsigned)dmode, (unsigned)fmode);
	return 0;
}
