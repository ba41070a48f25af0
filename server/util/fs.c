/*
 * fs.c — mkdir -p and directory fsync (see fs.h).
 *
 * Paths are copied into a fixed buffer of PATH_MAX: a longer one is
 * ENAMETOOLONG, never truncated, so a step never acts on another path.
 */
#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Copy path into buf (PATH_MAX); -1 with ENAMETOOLONG/ENOENT when it does not fit or is empty. */
static int copy_path(char *buf, const char *path)
{
	size_t n = strlen(path);

	if (n == 0) {
		errno = ENOENT;
		return -1;
	}
	if (n >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, n + 1);
	return 0;
}

int wbs__mkdir_p(const char *dir, mode_t mode)
{
	char tmp[PATH_MAX];

	if (copy_path(tmp, dir))
		return -1;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, mode) && errno != EEXIST)
		return -1;
	return 0;
}

int wbs__mkdir_parent(const char *path, mode_t mode)
{
	char tmp[PATH_MAX], *slash;

	if (copy_path(tmp, path))
		return -1;
	if (!(slash = strrchr(tmp, '/')) || slash == tmp)
		return 0;
	*slash = '\0';
	return wbs__mkdir_p(tmp, mode);
}

int wbs__fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc, e;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	e = errno;
	close(fd);
	errno = e;
	return rc;
}

int wbs__fsync_parent(const char *path)
{
	char tmp[PATH_MAX], *slash;

	if (copy_path(tmp, path))
		return -1;
	if (!(slash = strrchr(tmp, '/')))
		return wbs__fsync_dir(".");
	if (slash == tmp)
		return wbs__fsync_dir("/");
	*slash = '\0';
	return wbs__fsync_dir(tmp);
}
