/*
 * artifact_build.c — the wb_artifact being built: its files, references
 * and metadata, the manifest that describes it, and hashing its files.
 *
 * Building touches no network and no run: files are only stat'ed when
 * added (hashed when the artifact is logged or uploaded, artifact_push.c),
 * a directory is added all or nothing, and paths are checked as the server
 * checks them, so a bad name is refused here rather than at the commit.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifact_int.h"
#include "error.h"
#include "json.h"
#include "jsoncheck.h"
#include "names.h"
#include "util.h"

static void entry_free(wb__art_entry *e)
{
	free(e->path);
	free(e->local);
	free(e->ref);
}

int wb_artifact_new(wb_artifact **out, const char *name, const char *type)
{
	wb_artifact *a;

	if (!out)
		return wb__error(WB_EINVAL, "out must not be NULL");
	*out = NULL;
	if (!wb__name_valid(name) || strcmp(name, "blobs") == 0)
		return wb__error(WB_EINVAL, "artifact name must match [A-Za-z0-9_.-]{1,64} and not be \"blobs\"");
	if (!wb__name_valid(type))
		return wb__error(WB_EINVAL, "artifact type must match [A-Za-z0-9_.-]{1,64}");
	if (!(a = calloc(1, sizeof(*a))) || !(a->name = wb__strdup(name)) || !(a->type = wb__strdup(type))) {
		wb_artifact_free(a);
		return wb__error(WB_ENOMEM, "out of memory");
	}
	*out = a;
	return WB_OK;
}

void wb_artifact_free(wb_artifact *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n; i++)
		entry_free(&a->e[i]);
	free(a->e);
	cJSON_Delete(a->metadata);
	free(a->name);
	free(a->type);
	free(a);
}

/* Append an entry (taking path, local, ref). */
int wb__art_add_entry(wb_artifact *a, char *path, char *local, char *ref, const char *sha, uint64_t size)
{
	int rc = WB_OK;

	if (!path || (!local && !ref)) {
		rc = wb__error(WB_ENOMEM, "out of memory");
		goto fail;
	}
	if (!wb__art_path_valid(path, strlen(path))) {
		rc = wb__error(WB_EINVAL,
			       "%.200s is not a valid path inside an artifact (relative, no empty, ., .. or .git segment)",
			       path);
		goto fail;
	}
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->e[i].path, path) == 0) {
			rc = wb__error(WB_EINVAL, "%.200s is in the artifact already", path);
			goto fail;
		}
	if ((rc = wb__reserve(&a->e, &a->cap, a->n, 1, sizeof(*a->e), WB__ART_FILES_MAX, "files in an artifact")))
		goto fail;
	memset(&a->e[a->n], 0, sizeof(a->e[a->n]));
	a->e[a->n].path = path;
	a->e[a->n].local = local;
	a->e[a->n].ref = ref;
	a->e[a->n].size = size;
	a->e[a->n].mtime_ns = -1;
	if (sha)
		snprintf(a->e[a->n].sha, sizeof(a->e[a->n].sha), "%s", sha);
	a->n++;
	return WB_OK;
fail:
	free(path);
	free(local);
	free(ref);
	return rc;
}

int wb_artifact_add_file(wb_artifact *a, const char *local_path, const char *name)
{
	struct stat st;
	const char *base;

	if (!a || !local_path)
		return wb__error(WB_EINVAL, "artifact and local_path must not be NULL");
	if (stat(local_path, &st) != 0 || !S_ISREG(st.st_mode))
		return wb__error(WB_ENOTFOUND, "%s is not a regular file", local_path);
	if (!name) {
		base = strrchr(local_path, '/');
		name = base ? base + 1 : local_path;
	}
	return wb__art_add_entry(a, wb__strdup(name), wb__strdup(local_path), NULL, NULL, (uint64_t)st.st_size);
}

int wb__sha_hex_valid(const char *s)
{
	if (!s || strlen(s) != 64)
		return 0;
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	return 1;
}

int wb_artifact_add_reference(wb_artifact *a, const char *uri, const char *sha256_hex, uint64_t size,
			      const char *name)
{
	char sha[65];
	const char *base;
	size_t ul;

	if (!a || !uri)
		return wb__error(WB_EINVAL, "artifact and uri must not be NULL");
	ul = strlen(uri);
	if (ul == 0 || ul > 2048 || !strstr(uri, "://"))
		return wb__error(WB_EINVAL, "a reference is a URI such as s3://bucket/key (at most 2048 bytes)");
	for (size_t i = 0; i < ul; i++)
		if ((unsigned char)uri[i] < 0x20)
			return wb__error(WB_EINVAL, "a reference URI has no control characters");
	if (!wb__sha_hex_valid(sha256_hex))
		return wb__error(WB_EINVAL, "sha256 must be 64 hex digits");
	for (int i = 0; i < 65; i++)
		sha[i] = (char)(sha256_hex[i] >= 'A' && sha256_hex[i] <= 'F' ? sha256_hex[i] - 'A' + 'a' : sha256_hex[i]);
	if (size > (UINT64_C(1) << 53))
		return wb__error(WB_EINVAL, "size is too large");
	if (!name) {
		base = strrchr(uri, '/');
		name = base && base[1] ? base + 1 : uri;
	}
	return wb__art_add_entry(a, wb__strdup(name), NULL, wb__strdup(uri), sha, size);
}

int wb_artifact_set_metadata(wb_artifact *a, const char *json_object)
{
	char why[300];
	cJSON *j;

	if (!a || !json_object)
		return wb__error(WB_EINVAL, "artifact and json_object must not be NULL");
	/* The server refuses what cJSON would silently change (jsoncheck.h): say so here. */
	if (wb__json_check(json_object, strlen(json_object), why, sizeof(why)) == WB__JSON_REFUSED)
		return wb__error(WB_EINVAL, "metadata: %s", why);
	/* exact: the numbers reach the server as the caller wrote them */
	j = wb__json_parse_exact(json_object, strlen(json_object));
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return wb__error(WB_EINVAL, "metadata must be a json object");
	}
	cJSON_Delete(a->metadata);
	a->metadata = j;
	return WB_OK;
}

/* Recursive part of wb_artifact_add_dir: root is the real path of the top directory. */
static int add_dir_rec(wb_artifact *a, const char *root, const char *dir, const char *rel, const char *prefix,
		       int depth)
{
	DIR *d;
	struct dirent *de;
	int rc = WB_OK;

	if (depth > 64)
		return wb__error(WB_EINVAL, "%s is nested too deeply", dir);
	if (!(d = opendir(dir)))
		return wb__error(WB_EIO, "cannot read directory %s: %s", dir, strerror(errno));
	while (!rc && (de = readdir(d))) {
		char *full = NULL, *r = NULL, *path = NULL, real[PATH_MAX];
		struct stat st;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if ((rc = wb__asprintf(&full, "%s/%s", dir, de->d_name)) ||
		    (rc = rel[0] ? wb__asprintf(&r, "%s/%s", rel, de->d_name) : wb__asprintf(&r, "%s", de->d_name))) {
			free(full);
			break;
		}
		if (lstat(full, &st) != 0) {
			rc = wb__error(WB_EIO, "cannot stat %s: %s", full, strerror(errno));
		} else if (S_ISLNK(st.st_mode)) {
			size_t rl = strlen(root);
			if (!realpath(full, real) || strncmp(real, root, rl) != 0 || (real[rl] != '/' && real[rl] != '\0')) {
				rc = wb__error(WB_EINVAL, "symbolic link %s points out of %s", full, root);
			} else if (stat(real, &st) == 0 && S_ISREG(st.st_mode)) {
				rc = prefix && prefix[0] ? wb__asprintf(&path, "%s/%s", prefix, r) : wb__asprintf(&path, "%s", r);
				if (!rc)
					rc = wb__art_add_entry(a, path, wb__strdup(real), NULL, NULL, (uint64_t)st.st_size);
			} /* a link to a directory inside: its files are added through the directory itself */
		} else if (S_ISDIR(st.st_mode)) {
			rc = add_dir_rec(a, root, full, r, prefix, depth + 1);
		} else if (S_ISREG(st.st_mode)) {
			rc = prefix && prefix[0] ? wb__asprintf(&path, "%s/%s", prefix, r) : wb__asprintf(&path, "%s", r);
			if (!rc)
				rc = wb__art_add_entry(a, path, wb__strdup(full), NULL, NULL, (uint64_t)st.st_size);
		}
		free(full);
		free(r);
	}
	closedir(d);
	return rc;
}

int wb_artifact_add_dir(wb_artifact *a, const char *local_dir, const char *prefix)
{
	char root[PATH_MAX];
	size_t before;
	int rc;

	if (!a || !local_dir)
		return wb__error(WB_EINVAL, "artifact and local_dir must not be NULL");
	if (!realpath(local_dir, root))
		return wb__error(WB_ENOTFOUND, "%s: %s", local_dir, strerror(errno));
	before = a->n;
	rc = add_dir_rec(a, root, root, "", prefix, 0);
	if (rc) { /* all or nothing */
		while (a->n > before)
			entry_free(&a->e[--a->n]);
	}
	return rc;
}
/* ---- hashing ---- */

void wb__hexify(const unsigned char *d, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[2 * n] = '\0';
}


/* Hash e->local into e->sha, e->size, e->mtime_ns, with buf (WB__ART_CHUNK bytes); pg (may be NULL) counts the bytes. */
int wb__art_hash_file(wb__art_entry *e, uint8_t *buf, wb__art_pg *pg)
{
	EVP_MD_CTX *ctx = NULL;
	struct stat st, st2;
	unsigned char d[32];
	uint64_t off = 0;
	int fd, rc = WB_OK;

	fd = open(e->local, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return wb__error(errno == ENOENT ? WB_ENOTFOUND : WB_EIO, "cannot open %s: %s", e->local, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = wb__error(WB_EIO, "%s is not a regular file", e->local);
		goto done;
	}
	if (!(ctx = EVP_MD_CTX_new()) || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		rc = wb__error(WB_ENOMEM, "cannot set up sha-256");
		goto done;
	}
	for (;;) {
		ssize_t n = pread(fd, buf, 1u << 20, (off_t)off); /* 1 MiB: hashed while in cache */
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = wb__error(WB_EIO, "cannot read %s: %s", e->local, strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		off += (uint64_t)n;
		wb__art_pg_move(pg, (uint64_t)n, 0);
	}
	if (fstat(fd, &st2) != 0 || st2.st_size != st.st_size || wb__mtime_ns(&st2) != wb__mtime_ns(&st) ||
	    off != (uint64_t)st.st_size) {
		rc = wb__error(WB_ECORRUPT, "%s changed while it was being read", e->local);
		goto done;
	}
	EVP_DigestFinal_ex(ctx, d, NULL);
	wb__hexify(d, 32, e->sha);
	e->size = off;
	e->mtime_ns = wb__mtime_ns(&st);
done:
	EVP_MD_CTX_free(ctx);
	close(fd);
	return rc;
}
/* The manifest as the server's commit body (and, with the local fields, the ARTIFACT record). */
cJSON *wb__art_manifest(const wb_artifact *a, const char *const *aliases, size_t naliases, const char *run_id,
			int with_local, const char *id)
{
	cJSON *j = cJSON_CreateObject(), *files, *al;

	if (!j)
		return NULL;
	if ((id && !cJSON_AddStringToObject(j, "id", id)) || !cJSON_AddStringToObject(j, "name", a->name) ||
	    !cJSON_AddStringToObject(j, "type", a->type) || (run_id && !cJSON_AddStringToObject(j, "run_id", run_id)))
		goto fail;
	if (a->metadata) {
		cJSON *m = cJSON_Duplicate(a->metadata, 1);
		if (!m || !cJSON_AddItemToObject(j, "metadata", m)) {
			cJSON_Delete(m);
			goto fail;
		}
	}
	if (!(al = cJSON_AddArrayToObject(j, "aliases")))
		goto fail;
	for (size_t i = 0; i < naliases; i++) {
		cJSON *s = cJSON_CreateString(aliases[i]);
		if (!s || !cJSON_AddItemToArray(al, s)) {
			cJSON_Delete(s);
			goto fail;
		}
	}
	if (!(files = cJSON_AddArrayToObject(j, "files")))
		goto fail;
	for (size_t i = 0; i < a->n; i++) {
		const wb__art_entry *e = &a->e[i];
		cJSON *f = cJSON_CreateObject();
		if (!f || !cJSON_AddItemToArray(files, f)) {
			cJSON_Delete(f);
			goto fail;
		}
		if (!cJSON_AddStringToObject(f, "path", e->path) || !cJSON_AddStringToObject(f, "sha256", e->sha) ||
		    !cJSON_AddItemToObject(f, "size", wb__json_int((int64_t)e->size)) ||
		    (e->ref && !cJSON_AddStringToObject(f, "ref", e->ref)))
			goto fail;
		if (with_local && e->local &&
		    (!cJSON_AddStringToObject(f, "local", e->local) ||
		     !cJSON_AddItemToObject(f, "mtime_ns", wb__json_int(e->mtime_ns))))
			goto fail;
	}
	return j;
fail:
	cJSON_Delete(j);
	return NULL;
}
/* Hash every file entry not hashed yet, pg (may be NULL) counting the bytes. */
int wb__art_hash_all(wb_artifact *a, uint8_t *buf, wb__art_pg *pg)
{
	uint64_t total = 0;
	int rc;

	for (size_t i = 0; i < a->n; i++)
		if (a->e[i].local)
			total += a->e[i].size;
	wb__art_pg_begin(pg, "hashing", total);
	for (size_t i = 0; i < a->n; i++)
		if (a->e[i].local && (rc = wb__art_hash_file(&a->e[i], buf, pg)))
			return rc;
	return WB_OK;
}
