/*
 * cmd_backup.c — `wb backup` and `wb restore-backup`.
 *
 *   wb backup DEST --data DIR        copy DIR/wb.db (and DIR/blobs/, DIR/media/, if any) into DEST
 *   wb restore-backup SRC --data DIR [--force]
 *                                    put a backup in place as a data directory
 *
 * `wb backup` runs beside a live server: the database is copied with
 * SQLite's online backup API from a read-only connection
 * (wbs__store_backup_file), so the copy is one committed state and the
 * server never waits for it. Blobs are content-addressed and written
 * before the rows that name them, so copying them after the database
 * leaves no row without its blob.
 *
 * `wb restore-backup` refuses a data directory that holds anything unless
 * --force is given (then the old wb.db, its WAL and blobs/ are replaced).
 * The server must not be running on DIR while it restores.
 *
 *   wb vacuum --data DIR             give the space of deleted runs back, and
 *                                    delete old files nothing names
 */
#include "cmd.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store_ops.h"
#include "util/fsmode.h"

static const char backup_usage[] = "usage: wb backup DEST --data DIR\n";
static const char restore_usage[] = "usage: wb restore-backup SRC --data DIR [--force]\n";

/* Parse "POSITIONAL --data DIR [--force]". 0, 1 for help, -1 on a usage error. */
static int parse(int argc, char **argv, const char **pos, const char **data, int *force, int allow_force)
{
	*pos = *data = NULL;
	*force = 0;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return 1;
		if (strcmp(argv[i], "--data") == 0 && i + 1 < argc)
			*data = argv[++i];
		else if (strncmp(argv[i], "--data=", 7) == 0)
			*data = argv[i] + 7;
		else if (allow_force && strcmp(argv[i], "--force") == 0)
			*force = 1;
		else if (argv[i][0] != '-' && !*pos)
			*pos = argv[i];
		else
			return -1;
	}
	return *pos && *data && **pos && **data ? 0 : -1;
}

/* 1 if dir holds any entry, 0 if empty or missing, -1 on error. */
static int dir_nonempty(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return errno == ENOENT ? 0 : -1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			n = 1;
			break;
		}
	closedir(d);
	return n;
}

static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = -1, out = -1, rc = -1;
	ssize_t n;

	if ((in = open(from, O_RDONLY | O_CLOEXEC)) < 0)
		goto done;
	if ((out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640)) < 0)
		goto done;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			goto done;
	if (n < 0 || fsync(out))
		goto done;
	rc = 0;
done:
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out))
		rc = -1;
	return rc;
}

/* Copy the tree from into to (created), regular files and directories only. */
static int copy_tree(const char *from, const char *to)
{
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if (mkdir(to, 0750) && errno != EEXIST)
		return -1;
	if (!(d = opendir(from)))
		return -1;
	while (rc == 0 && (e = readdir(d))) {
		char a[4096], b[4096];
		struct stat st;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (snprintf(a, sizeof(a), "%s/%s", from, e->d_name) >= (int)sizeof(a) ||
		    snprintf(b, sizeof(b), "%s/%s", to, e->d_name) >= (int)sizeof(b) || lstat(a, &st)) {
			rc = -1;
			break;
		}
		if (S_ISDIR(st.st_mode))
			rc = copy_tree(a, b);
		else if (S_ISREG(st.st_mode))
			rc = copy_file(a, b);
	}
	closedir(d);
	return rc;
}

static int rm_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;

	if (!d)
		return errno == ENOENT ? 0 : unlink(path);
	while ((e = readdir(d))) {
		char p[4096];
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		if (e->d_type == DT_DIR)
			rm_tree(p);
		else
			unlink(p);
	}
	closedir(d);
	return rmdir(path);
}

/* Content-addressed file trees of the data directory, copied after the
 * database: blobs/ (artifacts) and media/ (images, store_media.c). */
static const char *const blob_dirs[] = {"blobs", "media"};

/* Database, then blobs, from src_dir to dest_dir (which exists and is empty of them). */
static int copy_data(const char *cmd, const char *src_dir, const char *dest_dir)
{
	char src_db[4200], dest_db[4200], src_blobs[4200], dest_blobs[4200];
	struct stat st;
	wbs__err e = {0};

	snprintf(src_db, sizeof(src_db), "%s/wb.db", src_dir);
	snprintf(dest_db, sizeof(dest_db), "%s/wb.db", dest_dir);
	if (stat(src_db, &st)) {
		fprintf(stderr, "wb %s: no database at %s: %s\n", cmd, src_db, strerror(errno));
		return 1;
	}
	if (wbs__store_backup_file(src_db, dest_db, &e) != WBS__ST_OK) {
		fprintf(stderr, "wb %s: %s\n", cmd, e.msg);
		return 1;
	}
	for (size_t i = 0; i < sizeof(blob_dirs) / sizeof(blob_dirs[0]); i++) {
		snprintf(src_blobs, sizeof(src_blobs), "%s/%s", src_dir, blob_dirs[i]);
		snprintf(dest_blobs, sizeof(dest_blobs), "%s/%s", dest_dir, blob_dirs[i]);
		if (stat(src_blobs, &st) == 0 && S_ISDIR(st.st_mode) && copy_tree(src_blobs, dest_blobs)) {
			fprintf(stderr, "wb %s: cannot copy %s: %s\n", cmd, src_blobs, strerror(errno));
			return 1;
		}
	}
	return 0;
}

int wbs__cmd_backup(int argc, char **argv)
{
	const char *dest, *data;
	int force, rc = parse(argc, argv, &dest, &data, &force, 0);

	if (rc) {
		fputs(backup_usage, rc > 0 ? stdout : stderr);
		return rc > 0 ? 0 : 2;
	}
	/* A backup is the data directory: the same modes (0700/0600), whatever the umask. */
	wbs__data_umask(0);
	if (mkdir(dest, 0750) && errno != EEXIST) {
		fprintf(stderr, "wb backup: cannot create %s: %s\n", dest, strerror(errno));
		return 1;
	}
	if (dir_nonempty(dest)) {
		fprintf(stderr, "wb backup: %s is not empty\n", dest);
		return 1;
	}
	if ((rc = copy_data("backup", data, dest)))
		return rc;
	printf("backed up %s to %s\n", data, dest);
	return 0;
}

int wbs__cmd_restore_backup(int argc, char **argv)
{
	const char *src, *data;
	char p[4200];
	int force, rc = parse(argc, argv, &src, &data, &force, 1);

	if (rc) {
		fputs(restore_usage, rc > 0 ? stdout : stderr);
		return rc > 0 ? 0 : 2;
	}
	wbs__data_umask(0); /* the server sets the group option's modes at its start */
	rc = dir_nonempty(data);
	if (rc < 0) {
		fprintf(stderr, "wb restore-backup: cannot read %s: %s\n", data, strerror(errno));
		return 1;
	}
	if (rc > 0 && !force) {
		fprintf(stderr, "wb restore-backup: %s is not empty (--force replaces its database)\n", data);
		return 1;
	}
	if (mkdir(data, 0750) && errno != EEXIST) {
		fprintf(stderr, "wb restore-backup: cannot create %s: %s\n", data, strerror(errno));
		return 1;
	}
	if (rc > 0) {
		static const char *const old[] = {"wb.db", "wb.db-wal", "wb.db-shm", "server.url"};
		for (size_t i = 0; i < sizeof(old) / sizeof(old[0]); i++) {
			snprintf(p, sizeof(p), "%s/%s", data, old[i]);
			if (unlink(p) && errno != ENOENT) {
				fprintf(stderr, "wb restore-backup: cannot remove %s: %s\n", p, strerror(errno));
				return 1;
			}
		}
		for (size_t i = 0; i < sizeof(blob_dirs) / sizeof(blob_dirs[0]); i++) {
			snprintf(p, sizeof(p), "%s/%s", data, blob_dirs[i]);
			rm_tree(p);
		}
	}
	if ((rc = copy_data("restore-backup", src, data)))
		return rc;
	printf("restored %s into %s\n", src, data);
	return 0;
}

int wbs__cmd_vacuum(int argc, char **argv)
{
	static const char usage[] = "usage: wb vacuum --data DIR [--grace-hours N]\n";
	const char *data = NULL;
	char db[4200], *end;
	uint64_t before, after, files, bytes;
	long long grace_h = 24;
	wbs__err e = {0};

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(usage, stdout);
			return 0;
		}
		if (strcmp(argv[i], "--data") == 0 && i + 1 < argc) {
			data = argv[++i];
		} else if (strncmp(argv[i], "--data=", 7) == 0) {
			data = argv[i] + 7;
		} else if (strcmp(argv[i], "--grace-hours") == 0 && i + 1 < argc) {
			grace_h = strtoll(argv[++i], &end, 10);
			if (*end || end == argv[i] || grace_h < 0 || grace_h > 100000) {
				fprintf(stderr, "wb vacuum: --grace-hours wants a whole number of hours (0-100000)\n%s", usage);
				return 2;
			}
		} else {
			fprintf(stderr, "wb vacuum: unexpected argument %s\n%s", argv[i], usage);
			return 2;
		}
	}
	if (!data || !*data) {
		fputs(usage, stderr);
		return 2;
	}
	snprintf(db, sizeof(db), "%s/wb.db", data);
	if (wbs__store_vacuum_file(db, &before, &after, &e) != WBS__ST_OK) {
		fprintf(stderr, "wb vacuum: %s\n", e.msg);
		return 1;
	}
	printf("vacuumed %s: %llu -> %llu bytes\n", db, (unsigned long long)before, (unsigned long long)after);
	if (wbs__store_sweep_files(db, (int64_t)grace_h * 3600, &files, &bytes, &e) != WBS__ST_OK) {
		fprintf(stderr, "wb vacuum: %s\n", e.msg);
		return 1;
	}
	printf("deleted %llu unreferenced files untouched for %lld h: %llu bytes\n", (unsigned long long)files, grace_h,
	       (unsigned long long)bytes);
	return 0;
}
