/*
 * cas.c — content-addressed files of the store (see cas.h for the layout
 * and the write protocol). Which hashes are still named by a row, and the
 * collection of the others, is store_ops.c's business (wbs__cas_gc).
 */
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/cas.h"
#include "util/fs.h"

#define CAS_DIR_MODE 0750
#define CAS_FILE_MODE 0640

static const char *const cas_dir[] = {[WBS__CAS_IMAGE] = "media", [WBS__CAS_BLOB] = "blobs"};

const char *wbs__cas_dir_name(wbs__cas kind) { return cas_dir[kind]; }

void wbs__cas_path_in(const char *dir, wbs__cas kind, const char *sha, char *out, size_t cap)
{
	/* images keep the whole hash as their name; blobs drop the two digits of their directory */
	snprintf(out, cap, "%s/%s/%.2s/%s", dir, cas_dir[kind], sha, kind == WBS__CAS_IMAGE ? sha : sha + 2);
}

void wbs__cas_path(const wbs__store *s, wbs__cas kind, const char *sha, char *out, size_t cap)
{
	char dir[4096];

	wbs__store_dir(s, dir, sizeof(dir));
	wbs__cas_path_in(dir, kind, sha, out, cap);
}

static int io_err(wbs__err *err, int e, const char *what, const char *path)
{
	return wbs__err_set(err, e == ENOSPC || e == EDQUOT ? WBS__ST_FULL : WBS__ST_UNAVAILABLE, "cannot %s %s: %s",
			    what, path, strerror(e));
}

int wbs__cas_commit(int fd, const char *tmp, const char *path, const char **step)
{
	if (wbs__mkdir_parent(path, CAS_DIR_MODE)) {
		*step = "create the directory of";
		return -1;
	}
	if (fsync(fd)) {
		*step = "fsync";
		return -1;
	}
	if (rename(tmp, path)) {
		*step = "rename";
		return -1;
	}
	if (wbs__fsync_parent(path)) {
		*step = "fsync the directory of";
		return -1;
	}
	return 0;
}

int wbs__cas_put(const wbs__store *s, wbs__cas kind, const char *sha, const void *data, size_t len, wbs__err *err)
{
	char path[4300], tmp[4400];
	const char *step = NULL;
	const uint8_t *p = data;
	size_t left = len;
	struct stat st;
	int fd = -1, ret = WBS__ST_OK;

	wbs__cas_path(s, kind, sha, path, sizeof(path));
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == len)
		return WBS__ST_OK;
	if (wbs__mkdir_parent(path, CAS_DIR_MODE))
		return io_err(err, errno, "create the directory of", path);
	/* beside the final name (same directory: the rename is atomic), unique per writer */
	snprintf(tmp, sizeof(tmp), "%.*s/.tmp-%s-%ld-%lx", (int)(strrchr(path, '/') - path), path, sha, (long)getpid(),
		 (unsigned long)pthread_self());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, CAS_FILE_MODE)) < 0)
		return io_err(err, errno, "create", tmp);
	while (left) {
		ssize_t w = write(fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			ret = io_err(err, w < 0 ? errno : EIO, "write", tmp);
			goto fail;
		}
		p += w;
		left -= (size_t)w;
	}
	if (wbs__cas_commit(fd, tmp, path, &step)) {
		ret = io_err(err, errno, step, strcmp(step, "fsync") == 0 || strcmp(step, "rename") == 0 ? tmp : path);
		if (strcmp(step, "fsync the directory of") == 0)
			tmp[0] = '\0'; /* renamed: nothing to unlink */
		goto fail;
	}
	close(fd);
	return WBS__ST_OK;
fail:
	close(fd);
	if (tmp[0])
		unlink(tmp);
	return ret;
}

int wbs__cas_size(const wbs__store *s, wbs__cas kind, const char *sha, uint64_t *size)
{
	char path[4300];
	struct stat st;

	wbs__cas_path(s, kind, sha, path, sizeof(path));
	if (stat(path, &st) != 0) {
		*size = 0;
		return 0;
	}
	*size = (uint64_t)st.st_size;
	return 1;
}

int wbs__cas_open(const wbs__store *s, wbs__cas kind, const char *sha)
{
	char path[4300];

	wbs__cas_path(s, kind, sha, path, sizeof(path));
	return open(path, O_RDONLY | O_CLOEXEC);
}

int wbs__cas_remove(const wbs__store *s, wbs__cas kind, const char *sha)
{
	char path[4300];

	wbs__cas_path(s, kind, sha, path, sizeof(path));
	if (unlink(path) == 0)
		return 1;
	return errno == ENOENT ? 0 : -1;
}
