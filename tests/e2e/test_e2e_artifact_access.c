/*
 * End-to-end: who may reach an artifact's bytes, against a real server
 * with two ordinary users, alice and bob, each with their own API key.
 *
 *  - dedup is not a read permission: bob, knowing the SHA-256 of a file
 *    in alice's private project, is told it is missing (check, GET, also
 *    anonymously through a public project), cannot commit a version
 *    naming it, and so cannot download it;
 *  - dedup across projects the caller can read still moves no bytes
 *    (the server's wb_artifact_blob_bytes_received_total), and bob
 *    uploading the same bytes himself works, keeps one copy of the blob,
 *    and lets him name it afterwards without sending it again;
 *  - a path with a .git segment is refused by the SDK when added, by the
 *    server when committed and when a file is asked for, and a version
 *    that lists one (committed before the server refused them) is not
 *    downloaded at all by `wb artifact get`: nothing is written;
 *  - a partial upload belongs to its user: bob can neither append to
 *    alice's nor disturb it, and alice's upload completes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "wb.h"

static wbt_server srv;
static char tmp[256];
static char alice[128], bob[128]; /* their API keys */

/* ---- helpers ---- */

/* A request as the user with key (NULL: nobody signed in); the body into out (may be NULL). */
static long call(const char *key, const char *method, const char *path, const void *body, size_t len,
		 const char *header, char *out, size_t cap)
{
	char auth[200];
	const char *h[4] = {NULL, NULL, NULL, NULL};
	int k = 0;
	wbt_response r;
	long st;

	if (key) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key);
		h[k++] = auth;
	}
	if (header)
		h[k++] = header;
	assert_int_equal(wbt_http(&srv, method, path, body, len, h, 0, &r), 0);
	st = r.status;
	if (out)
		snprintf(out, cap, "%s", r.body ? r.body : "");
	wbt_response_free(&r);
	return st;
}

static long call_json(const char *key, const char *method, const char *path, const char *body, char *out, size_t cap)
{
	return call(key, method, path, body, body ? strlen(body) : 0, body ? "Content-Type: application/json" : NULL, out,
		    cap);
}

static void sha_hex(const void *p, size_t n, char out[65])
{
	static const char d[] = "0123456789abcdef";
	unsigned char md[32];
	EVP_Digest(p, n, md, NULL, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++) {
		out[2 * i] = d[md[i] >> 4];
		out[2 * i + 1] = d[md[i] & 15];
	}
	out[64] = '\0';
}

static void write_file(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	if (n)
		assert_int_equal(fwrite(data, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static void fill_random(uint8_t *b, size_t n, unsigned seed)
{
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		b[i] = (uint8_t)x;
	}
}

/* wb_artifact_blob_bytes_received_total from /metrics. */
static uint64_t blob_bytes(void)
{
	wbt_response r;
	const char *p;
	uint64_t v;
	assert_int_equal(wbt_http(&srv, "GET", "/metrics", NULL, 0, NULL, 0, &r), 0);
	assert_int_equal(r.status, 200);
	p = strstr(r.body, "\nwb_artifact_blob_bytes_received_total ");
	assert_non_null(p);
	v = strtoull(p + strlen("\nwb_artifact_blob_bytes_received_total "), NULL, 10);
	wbt_response_free(&r);
	return v;
}

/* Upload the files (local path, name inside) as entity/project/name with the user's key, through the SDK. */
static int upload_as(const char *key, const char *entity, const char *project, const char *name,
		     const char *const *local, const char *const *inside, size_t n, int *created, uint64_t *bytes)
{
	wb_artifact_options o = WB_ARTIFACT_OPTIONS_INIT;
	wb_artifact *a = NULL;
	int64_t v = -1;
	int rc;

	o.api_key = key;
	o.entity = entity;
	o.project = project;
	assert_int_equal(wb_artifact_new(&a, name, "dataset"), WB_OK);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(wb_artifact_add_file(a, local[i], inside[i]), WB_OK);
	rc = wb_artifact_upload(&o, a, NULL, 0, &v, created, bytes);
	wb_artifact_free(a);
	return rc == WB_OK ? (int)v : -1;
}

/* Whether a blob check in entity/project as key says sha is missing. */
static int check_missing(const char *key, const char *entity, const char *project, const char *sha)
{
	char path[256], body[200], out[4096];
	snprintf(path, sizeof(path), "/api/v1/projects/%s/%s/artifacts/blobs/check", entity, project);
	snprintf(body, sizeof(body), "{\"blobs\":[{\"sha256\":\"%s\"}]}", sha);
	assert_int_equal(call_json(key, "POST", path, body, out, sizeof(out)), 200);
	if (strstr(out, sha)) {
		assert_non_null(strstr(out, "\"present\":0"));
		return 1;
	}
	assert_non_null(strstr(out, "\"present\":1"));
	return 0;
}

/* GET .../blobs/sha as key (NULL: anonymous) in entity/project: "present" (1/0), the status when not 200. */
static int blob_present(const char *key, const char *entity, const char *project, const char *sha, long *status)
{
	char path[256], out[4096];
	snprintf(path, sizeof(path), "/api/v1/projects/%s/%s/artifacts/blobs/%s", entity, project, sha);
	*status = call(key, "GET", path, NULL, 0, NULL, out, sizeof(out));
	return *status == 200 && strstr(out, "\"present\":true") != NULL;
}

/* Number of regular files under dir (recursively). */
static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char p[1024];
		struct stat st;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			n += count_files(p);
		else
			n++;
	}
	closedir(d);
	return n;
}

static int setup(void **state)
{
	(void)state;
	if (wbt_runs_dir(tmp, sizeof(tmp), "artacc") < 0)
		return -1;
	setenv("WB_DISABLE_GIT", "1", 1);
	setenv("WB_SYSTEM_SAMPLE_MS", "-1", 1);
	if (wbt_server_start(&srv, ""))
		return -1;
	assert_int_equal(wbt_make_user(&srv, "alice", "correct horse battery", NULL, 0, NULL, 0, alice, sizeof(alice)), 0);
	assert_int_equal(wbt_make_user(&srv, "bob", "correct horse battery", NULL, 0, NULL, 0, bob, sizeof(bob)), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return wbt_tmp_done(&srv, tmp);
}

/* ---- tests ---- */

static void test_e2e_artifact_access__hash_is_not_a_read_permission(void **state)
{
	static const char secret[] = "alice's private file: 26";
	char local[400], sha[65], path[400], body[600], out[4096], data[64];
	const char *files[1] = {local}, *names[1] = {"secret.txt"};
	long st;
	int created;
	uint64_t sent;
	(void)state;

	assert_int_equal(strlen(secret), 24);
	snprintf(local, sizeof(local), "%s/secret.txt", tmp);
	write_file(local, secret, strlen(secret));
	sha_hex(secret, strlen(secret), sha);
	assert_int_equal(upload_as(alice, "alice", "priv", "secret", files, names, 1, &created, &sent), 0);
	/* a public project of alice's that holds other things, for the anonymous look */
	assert_int_equal(call_json(alice, "PUT", "/api/v1/projects/alice/open", "{\"visibility\":\"public\"}", NULL, 0),
			 200);

	/* bob knows the hash: the check, the blob's state and a commit all say it is not there */
	assert_true(check_missing(bob, "bob", "p", sha));
	assert_false(blob_present(bob, "bob", "p", sha, &st));
	assert_int_equal(st, 200);
	assert_false(blob_present(bob, "alice", "open", sha, &st));
	assert_int_equal(st, 200);
	assert_false(blob_present(NULL, "alice", "open", sha, &st)); /* anonymously, through a public project */
	assert_int_equal(st, 200);
	snprintf(body, sizeof(body), "{\"type\":\"dataset\",\"files\":[{\"path\":\"loot\",\"sha256\":\"%s\",\"size\":%zu}]}",
		 sha, strlen(secret));
	assert_int_equal(call_json(bob, "POST", "/api/v1/projects/bob/p/artifacts/stolen", body, out, sizeof(out)), 409);
	assert_non_null(strstr(out, "missing_blobs"));
	/* ... nor does a PUT claim the blob complete without its bytes */
	snprintf(path, sizeof(path), "/api/v1/projects/bob/p/artifacts/blobs/%s?offset=0&size=%zu", sha, strlen(secret));
	memset(data, 'x', strlen(secret));
	st = call(bob, "PUT", path, data, strlen(secret), "Content-Type: application/octet-stream", out, sizeof(out));
	assert_int_equal(st, 400);
	assert_non_null(strstr(out, "checksum_mismatch"));
	assert_int_equal(call_json(bob, "POST", "/api/v1/projects/bob/p/artifacts/stolen", body, out, sizeof(out)), 409);
	/* so there is nothing to download */
	st = call(bob, "GET", "/api/v1/projects/bob/p/artifacts/stolen/latest/file?path=loot", NULL, 0, NULL, out,
		  sizeof(out));
	assert_int_equal(st, 404);
	assert_null(strstr(out, "private file"));
	/* alice herself still deduplicates her own blob */
	assert_false(check_missing(alice, "alice", "other", sha));
	assert_true(blob_present(alice, "alice", "priv", sha, &st));
}

static void test_e2e_artifact_access__dedup_from_readable_projects(void **state)
{
	char local[400], local2[400], sha[65], sha2[65], dir[400], got[450];
	const char *f1[1] = {local}, *f2[1] = {local2}, *n1[1] = {"weights.bin"}, *n2[1] = {"open.bin"};
	uint8_t *buf = malloc(1 << 20);
	uint64_t before, sent;
	int created;
	long st;
	(void)state;

	/* alice/shared (bob a viewer) holds W, alice/pub (public) holds O */
	assert_non_null(buf);
	snprintf(local, sizeof(local), "%s/weights.bin", tmp);
	fill_random(buf, 1 << 20, 7);
	write_file(local, buf, 1 << 20);
	sha_hex(buf, 1 << 20, sha);
	snprintf(local2, sizeof(local2), "%s/open.bin", tmp);
	fill_random(buf, 300000, 8);
	write_file(local2, buf, 300000);
	sha_hex(buf, 300000, sha2);
	assert_int_equal(upload_as(alice, "alice", "shared", "w", f1, n1, 1, &created, &sent), 0);
	assert_int_equal(sent, 1 << 20);
	assert_int_equal(call_json(alice, "PUT", "/api/v1/projects/alice/shared/members/bob", "{\"role\":\"viewer\"}",
				   NULL, 0),
			 200);
	assert_int_equal(upload_as(alice, "alice", "pub", "o", f2, n2, 1, &created, &sent), 0);
	assert_int_equal(call_json(alice, "PUT", "/api/v1/projects/alice/pub", "{\"visibility\":\"public\"}", NULL, 0),
			 200);

	/* bob may read both: he is told they are there, and his versions move no byte */
	assert_false(check_missing(bob, "bob", "mine", sha));
	assert_false(check_missing(bob, "bob", "mine", sha2));
	assert_true(blob_present(NULL, "alice", "pub", sha2, &st)); /* anyone may read alice/pub */
	assert_false(blob_present(NULL, "alice", "pub", sha, &st)); /* but not alice/shared */
	before = blob_bytes();
	assert_int_equal(upload_as(bob, "bob", "mine", "copy", f1, n1, 1, &created, &sent), 0);
	assert_int_equal(created, 1);
	assert_int_equal(sent, 0);
	assert_int_equal(upload_as(bob, "bob", "mine", "copy2", f2, n2, 1, &created, &sent), 0);
	assert_int_equal(sent, 0);
	assert_int_equal(blob_bytes(), before);
	/* and his versions are whole */
	snprintf(dir, sizeof(dir), "%s/bob-copy", tmp);
	{
		wb_artifact_options o = WB_ARTIFACT_OPTIONS_INIT;
		int64_t v = -1;
		o.api_key = bob;
		o.entity = "bob";
		o.project = "mine";
		assert_int_equal(wb_artifact_download(&o, "copy", dir, &v), WB_OK);
		assert_int_equal(v, 0);
	}
	snprintf(got, sizeof(got), "%s/weights.bin", dir);
	{
		FILE *f = fopen(got, "rb");
		uint8_t *b2 = malloc(1 << 20);
		char s2[65];
		assert_non_null(f);
		assert_non_null(b2);
		assert_int_equal(fread(b2, 1, 1 << 20, f), 1 << 20);
		fclose(f);
		sha_hex(b2, 1 << 20, s2);
		assert_string_equal(s2, sha);
		free(b2);
	}
	free(buf);
}

static void test_e2e_artifact_access__own_bytes_upload(void **state)
{
	char local[400], sha[65], blobs[600], tmpdir[600];
	const char *f[1] = {local}, *n[1] = {"model.bin"};
	uint8_t *buf = malloc(2 << 20);
	uint64_t before, sent;
	int created, nblobs, nparts;
	long st;
	(void)state;

	/* alice's private blob M; bob has the very same bytes */
	assert_non_null(buf);
	snprintf(local, sizeof(local), "%s/model.bin", tmp);
	fill_random(buf, 2 << 20, 11);
	write_file(local, buf, 2 << 20);
	sha_hex(buf, 2 << 20, sha);
	assert_int_equal(upload_as(alice, "alice", "priv", "model", f, n, 1, &created, &sent), 0);
	assert_true(check_missing(bob, "bob", "p2", sha));

	/* he sends them: they are checked, his version is committed, the store keeps one copy */
	snprintf(blobs, sizeof(blobs), "%s/blobs", srv.data);
	snprintf(tmpdir, sizeof(tmpdir), "%s/blobs/tmp", srv.data);
	nblobs = count_files(blobs);
	nparts = count_files(tmpdir);
	before = blob_bytes();
	assert_int_equal(upload_as(bob, "bob", "p2", "model", f, n, 1, &created, &sent), 0);
	assert_int_equal(created, 1);
	assert_int_equal(sent, 2 << 20);
	assert_int_equal(blob_bytes(), before + (2 << 20));
	/* no second copy of the blob, and his part file is gone, not kept beside it */
	assert_int_equal(count_files(blobs), nblobs);
	assert_int_equal(count_files(tmpdir), nparts);

	/* having sent them, he may name them anywhere he writes, without sending them again */
	assert_false(check_missing(bob, "bob", "p3", sha));
	assert_true(blob_present(bob, "bob", "p3", sha, &st));
	before = blob_bytes();
	assert_int_equal(upload_as(bob, "bob", "p3", "model", f, n, 1, &created, &sent), 0);
	assert_int_equal(sent, 0);
	assert_int_equal(blob_bytes(), before);
	free(buf);
}

static void test_e2e_artifact_access__git_paths_refused(void **state)
{
	static const char *const bad[] = {".git/config", "sub/.GIT/hooks/pre-commit", ".Git/config", ".git./config",
					  "git~1/config", ".git::$INDEX_ALLOCATION/config"};
	static const char cfg[] = "[core]\n\tfsmonitor = touch /tmp/pwned-by-wb\n";
	char local[400], sha[65], body[800], out[4096], dir[400], gitdir[450], gitcfg[500], dbp[400];
	const char *f[2] = {local, local}, *n[2] = {"+readme.txt", "cfg"};
	wb_artifact *a = NULL;
	int created;
	uint64_t sent;
	long st;
	(void)state;

	snprintf(local, sizeof(local), "%s/config", tmp);
	write_file(local, cfg, strlen(cfg));
	sha_hex(cfg, strlen(cfg), sha);

	/* the SDK refuses them when added (nothing is sent) */
	assert_int_equal(wb_artifact_new(&a, "repo", "dataset"), WB_OK);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(wb_artifact_add_file(a, local, bad[i]), WB_EINVAL);
	{
		char src[400], sub[450];
		snprintf(src, sizeof(src), "%s/checkout", tmp);
		snprintf(sub, sizeof(sub), "%s/.git", src);
		assert_int_equal(mkdir(src, 0755), 0);
		assert_int_equal(mkdir(sub, 0755), 0);
		snprintf(sub, sizeof(sub), "%s/.git/config", src);
		write_file(sub, cfg, strlen(cfg));
		assert_int_equal(wb_artifact_add_dir(a, src, NULL), WB_EINVAL);
	}
	wb_artifact_free(a);

	/* the server refuses a commit naming one (the blob is alice's own: only the path is wrong) */
	assert_int_equal(upload_as(alice, "alice", "repo", "cfgs", f, n, 2, &created, &sent), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(body, sizeof(body),
			 "{\"type\":\"dataset\",\"files\":[{\"path\":\"%s\",\"sha256\":\"%s\",\"size\":%zu}]}", bad[i], sha,
			 strlen(cfg));
		st = call_json(alice, "POST", "/api/v1/projects/alice/repo/artifacts/hooks", body, out, sizeof(out));
		assert_int_equal(st, 400);
		assert_non_null(strstr(out, "invalid_argument"));
	}
	assert_int_equal(call_json(alice, "GET", "/api/v1/projects/alice/repo/artifacts/hooks", NULL, out, sizeof(out)),
			 404);

	/* a version that lists one anyway (committed before the server refused them): make cfgs:v0 one */
	assert_int_equal(wbt_server_stop(&srv), 0);
	wbt_db_path(&srv, dbp, sizeof(dbp));
	{
		sqlite3 *db = NULL;
		assert_int_equal(sqlite3_open(dbp, &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, "UPDATE artifact_files SET path = '.git/config' WHERE path = 'cfg'", NULL,
					      NULL, NULL),
				 SQLITE_OK);
		assert_int_equal(sqlite3_changes(db), 1);
		sqlite3_close(db);
	}
	assert_int_equal(wbt_server_restart(&srv), 0);
	/* the server does not serve it */
	st = call(alice, "GET", "/api/v1/projects/alice/repo/artifacts/cfgs/v0/file?path=.git/config", NULL, 0, NULL,
		  out, sizeof(out));
	assert_int_equal(st, 400);
	assert_null(strstr(out, "fsmonitor"));
	/* and `wb artifact get` into a checkout writes nothing at all, not even the harmless file */
	snprintf(dir, sizeof(dir), "%s/work", tmp);
	snprintf(gitdir, sizeof(gitdir), "%s/.git", dir);
	snprintf(gitcfg, sizeof(gitcfg), "%s/config", gitdir);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(mkdir(gitdir, 0755), 0);
	write_file(gitcfg, "[core]\n", 7);
	{
		pid_t pid = fork();
		int status = 0;
		assert_true(pid >= 0);
		if (pid == 0) {
			int devnull = open("/dev/null", O_WRONLY);
			dup2(devnull, 1);
			setenv("WB_API_KEY", alice, 1);
			if (chdir(dir) != 0)
				_exit(99);
			execl(wbt_wb_bin(), "wb", "artifact", "get", "alice/repo/cfgs:v0", ".", (char *)NULL);
			_exit(98);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 1);
	}
	assert_int_equal(count_files(dir), 1);
	{
		char got[64] = {0};
		FILE *fp = fopen(gitcfg, "rb");
		assert_non_null(fp);
		assert_int_equal(fread(got, 1, sizeof(got) - 1, fp), 7);
		fclose(fp);
		assert_string_equal(got, "[core]\n");
	}
}

static void test_e2e_artifact_access__partial_upload_is_the_uploaders(void **state)
{
	enum { HALF = 100000 };
	uint8_t *data = malloc(2 * HALF), *junk = malloc(HALF);
	char sha[65], csha[65], hdr[100], path[400], out[4096];
	long st;
	(void)state;

	assert_non_null(data);
	assert_non_null(junk);
	fill_random(data, 2 * HALF, 21);
	fill_random(junk, HALF, 22);
	sha_hex(data, 2 * HALF, sha);

	/* alice sends the first half */
	sha_hex(data, HALF, csha);
	snprintf(hdr, sizeof(hdr), "X-Chunk-Sha256: %s", csha);
	snprintf(path, sizeof(path), "/api/v1/projects/alice/big/artifacts/blobs/%s?offset=0&size=%d", sha, 2 * HALF);
	assert_int_equal(call(alice, "PUT", path, data, HALF, hdr, out, sizeof(out)), 200);
	assert_non_null(strstr(out, "\"complete\":false"));

	/* bob appends garbage where alice stopped: refused, he has no such upload */
	sha_hex(junk, HALF, csha);
	snprintf(hdr, sizeof(hdr), "X-Chunk-Sha256: %s", csha);
	snprintf(path, sizeof(path), "/api/v1/projects/bob/p/artifacts/blobs/%s?offset=%d&size=%d", sha, HALF, 2 * HALF);
	st = call(bob, "PUT", path, junk, HALF, hdr, out, sizeof(out));
	assert_int_equal(st, 409);
	assert_non_null(strstr(out, "offset_mismatch"));
	/* a start of his own is his own: alice's state does not move, and he does not see hers */
	snprintf(path, sizeof(path), "/api/v1/projects/bob/p/artifacts/blobs/%s?offset=0&size=%d", sha, 2 * HALF);
	assert_int_equal(call(bob, "PUT", path, junk, HALF, hdr, out, sizeof(out)), 200);
	snprintf(path, sizeof(path), "/api/v1/projects/alice/big/artifacts/blobs/%s", sha);
	assert_int_equal(call(alice, "GET", path, NULL, 0, NULL, out, sizeof(out)), 200);
	assert_non_null(strstr(out, "\"received\":100000"));
	assert_non_null(strstr(out, "\"present\":false"));

	/* alice finishes hers */
	sha_hex(data + HALF, HALF, csha);
	snprintf(hdr, sizeof(hdr), "X-Chunk-Sha256: %s", csha);
	snprintf(path, sizeof(path), "/api/v1/projects/alice/big/artifacts/blobs/%s?offset=%d&size=%d", sha, HALF,
		 2 * HALF);
	assert_int_equal(call(alice, "PUT", path, data + HALF, HALF, hdr, out, sizeof(out)), 200);
	assert_non_null(strstr(out, "\"complete\":true"));
	assert_true(blob_present(alice, "alice", "big", sha, &st));
	/* bob's garbage stays his, and is never the blob */
	assert_false(blob_present(bob, "bob", "p", sha, &st));
	snprintf(path, sizeof(path), "/api/v1/projects/bob/p/artifacts/blobs/%s?offset=%d&size=%d", sha, HALF, 2 * HALF);
	sha_hex(junk, HALF, csha);
	snprintf(hdr, sizeof(hdr), "X-Chunk-Sha256: %s", csha);
	st = call(bob, "PUT", path, junk, HALF, hdr, out, sizeof(out));
	assert_int_equal(st, 400);
	assert_non_null(strstr(out, "checksum_mismatch"));
	assert_true(blob_present(alice, "alice", "big", sha, &st));
	{
		char body[400];
		snprintf(body, sizeof(body), "{\"type\":\"dataset\",\"files\":[{\"path\":\"big.bin\",\"sha256\":\"%s\",\"size\":%d}]}",
			 sha, 2 * HALF);
		assert_int_equal(call_json(alice, "POST", "/api/v1/projects/alice/big/artifacts/big", body, out, sizeof(out)),
				 201);
	}
	free(data);
	free(junk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_e2e_artifact_access__hash_is_not_a_read_permission),
	    cmocka_unit_test(test_e2e_artifact_access__dedup_from_readable_projects),
	    cmocka_unit_test(test_e2e_artifact_access__own_bytes_upload),
	    cmocka_unit_test(test_e2e_artifact_access__git_paths_refused),
	    cmocka_unit_test(test_e2e_artifact_access__partial_upload_is_the_uploaders),
	};
	return wbt_exit_code(cmocka_run_group_tests(tests, setup, teardown));
}
