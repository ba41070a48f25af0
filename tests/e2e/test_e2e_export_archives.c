/*
 * End-to-end export and import, the archives that are not a plain round
 * trip: damaged ones (a changed blob or image byte, a missing blob, a "../"
 * entry) are refused and write nothing, `wb export --run` takes one run and
 * the artifacts it used, and a version 1 archive is still read. The
 * servers, directory and rich.tar.gz are test_e2e_export.c's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "json.h"
#include "wb.h"
#include "export_e2e.h"

static int run_wb_err(const char *const *args, const char *err)
{
	pid_t p;
	int st;
	fflush(NULL);
	p = fork();
	if (p == 0) {
		FILE *f = freopen(err, "w", stderr);
		(void)f;
		execv(wbt_wb_bin(), (char *const *)args);
		_exit(127);
	}
	if (waitpid(p, &st, 0) != p || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* Flip one byte in the middle of a file. */
static void flip(const char *path)
{
	FILE *f = fopen(path, "r+b");
	long n;
	int c;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	assert_int_equal(fseek(f, n / 2, SEEK_SET), 0);
	c = fgetc(f);
	assert_int_equal(fseek(f, n / 2, SEEK_SET), 0);
	fputc(c ^ 0x5a, f);
	assert_int_equal(fclose(f), 0);
}

/* A server that holds nothing. */
static void assert_empty(const wbt_server *s)
{
	cJSON *j = wbt_get_json(s, "/api/v1/projects");
	assert_non_null(j);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "projects")), 0);
	cJSON_Delete(j);
}

/* Import archive (a re-packed copy of dir, plus extra tar arguments) into s; the exit code, stderr in errtext. */
static int import_repacked(const wbt_server *s, const char *dir, const char *extra, char *errtext, size_t cap)
{
	char cmd[2400], archive[400], errf[400];
	const char *im[] = {wbt_wb_bin(), "import", archive, "--base-url", s->url, "--api-key", s->key, NULL};
	FILE *f;
	size_t n;
	int rc;

	snprintf(archive, sizeof(archive), "%s/repacked.tar.gz", root);
	snprintf(errf, sizeof(errf), "%s/import.err", root);
	snprintf(cmd, sizeof(cmd), "cd '%s' && tar -czf '%s' -P %s manifest.json runs artifacts images blobs", dir, archive,
		 extra);
	assert_int_equal(system(cmd), 0);
	rc = run_wb_err(im, errf);
	f = fopen(errf, "r");
	assert_non_null(f);
	n = fread(errtext, 1, cap - 1, f);
	errtext[n] = '\0';
	fclose(f);
	return rc;
}

/* Files in dir/sub. */
static int count_files(const char *dir, const char *sub)
{
	char cmd[800], line[32] = "";
	FILE *p;

	snprintf(cmd, sizeof(cmd), "ls '%s/%s' | wc -l", dir, sub);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(line, sizeof(line), p));
	pclose(p);
	return atoi(line);
}

void test_e2e_export__damaged_archives_write_nothing(void **state)
{
	wbt_server d;
	char dir[400], cmd[1200], blob[600], image[600], msg[2000];
	cJSON *j;
	const cJSON *v;

	(void)state;
	memset(&d, 0, sizeof(d));
	assert_int_equal(wbt_server_start(&d, NULL), 0);
	snprintf(dir, sizeof(dir), "%s/unpacked", root);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && tar -C '%s' -xzf '%s/rich.tar.gz'", dir, dir, root);
	assert_int_equal(system(cmd), 0);
	/* the dataset's blob (the large one) and the first image */
	j = wbt_get_json(&a, "/api/v1/projects/tester/rich/artifacts/dataset/v0");
	assert_non_null(j);
	snprintf(blob, sizeof(blob), "%s/blobs/%s", dir,
		 cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "files"), 0), "sha256")->valuestring);
	cJSON_Delete(j);
	snprintf(cmd, sizeof(cmd), "ls '%s/images' | head -1", dir);
	{
		FILE *p = popen(cmd, "r");
		char name[100] = "";
		assert_non_null(p);
		assert_non_null(fgets(name, sizeof(name), p));
		pclose(p);
		name[strcspn(name, "\n")] = '\0';
		assert_int_equal(strlen(name), 64);
		snprintf(image, sizeof(image), "%s/images/%s", dir, name);
	}

	/* each content once: model.bin of v0 and v2, the shared vocab.txt, the dataset's file; the PNG and the JPEG
	 * (logged under two keys) */
	assert_int_equal(count_files(dir, "blobs"), 4);
	assert_int_equal(count_files(dir, "images"), 2);

	flip(blob);
	assert_int_equal(import_repacked(&d, dir, "", msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "do not hash to their name"));
	assert_empty(&d);
	flip(blob); /* back */

	flip(image);
	assert_int_equal(import_repacked(&d, dir, "", msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "do not hash to their name"));
	assert_empty(&d);
	flip(image);

	snprintf(cmd, sizeof(cmd), "echo boo > '%s/evil'", dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(import_repacked(&d, dir, "--transform 's,^evil$,../evil,' evil", msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "unexpected entry ../evil"));
	assert_empty(&d);

	/* a version whose blob is missing from the archive */
	snprintf(cmd, sizeof(cmd), "mv '%s' '%s/moved'", blob, root);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(import_repacked(&d, dir, "", msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "not in the archive"));
	assert_empty(&d);
	snprintf(cmd, sizeof(cmd), "mv '%s/moved' '%s'", root, blob);
	assert_int_equal(system(cmd), 0);

	/* an interrupted upload of the large blob left 4096 bytes on d: the import goes on from there */
	{
		static char head[4096];
		char put[800];
		const char *sha = strrchr(blob, '/') + 1;
		wbt_response r;
		FILE *bf = fopen(blob, "rb");
		assert_non_null(bf);
		assert_int_equal(fread(head, 1, sizeof(head), bf), sizeof(head));
		fclose(bf);
		snprintf(put, sizeof(put), "/api/v1/projects/tester/rich/artifacts/blobs/%s?offset=0&size=%u", sha,
			 (9u << 20) + 4321);
		assert_int_equal(wbt_http(&d, "PUT", put, head, sizeof(head), NULL, 1, &r), 0);
		assert_int_equal(r.status, 200);
		assert_non_null(strstr(r.body, "\"received\":4096"));
		wbt_response_free(&r);
	}

	/* repaired, the same archive goes in */
	assert_int_equal(import_repacked(&d, dir, "", msg, sizeof(msg)), 0);
	j = wbt_get_json(&d, "/api/v1/projects/tester/rich/artifacts/model");
	assert_non_null(j);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "versions")), 2);
	v = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "versions"), 1);
	assert_string_equal(cJSON_GetObjectItem(v, "version")->valuestring, "v0");
	cJSON_Delete(j);
	assert_int_equal(same_bytes_on(&d, "/api/v1/projects/tester/rich/artifacts/dataset/v0/file?path=data/train.bin"),
			 (9u << 20) + 4321);
	wbt_server_cleanup(&d);
}

/*
 * --run takes the artifacts the run used, whole, and their uses; a producer
 * outside the archive (and the target) leaves produced_by empty. A version
 * 1 archive (no media, no artifacts) is still read.
 */
void test_e2e_export__one_run_and_version_1_archives(void **state)
{
	wbt_server e;
	char archive[400], dir[300], cmd[4000], ref[200] = "";
	cJSON *j, *runs;
	const cJSON *r;

	(void)state;
	memset(&e, 0, sizeof(e));
	assert_int_equal(wbt_server_start(&e, NULL), 0);
	runs = wbt_get_json(&a, "/api/v1/projects/tester/rich/runs?limit=100");
	assert_non_null(runs);
	cJSON_ArrayForEach(r, cJSON_GetObjectItem(runs, "runs"))
	{
		if (cJSON_IsString(cJSON_GetObjectItem(r, "job_type")) &&
		    !strcmp(cJSON_GetObjectItem(r, "job_type")->valuestring, "eval"))
			snprintf(ref, sizeof(ref), "tester/rich/%s", cJSON_GetObjectItem(r, "id")->valuestring);
	}
	cJSON_Delete(runs);
	assert_true(ref[0]); /* the consumer run */
	snprintf(archive, sizeof(archive), "%s/one.tar.gz", root);
	{
		const char *ex[] = {wbt_wb_bin(), "export", "--run", ref, archive, "--base-url", a.url, "--api-key", a.key, NULL};
		const char *im[] = {wbt_wb_bin(), "import", archive, "--base-url", e.url, "--api-key", e.key, NULL};
		assert_int_equal(run_wb(ex), 0);
		assert_int_equal(run_wb(im), 0);
	}
	j = wbt_get_json(&e, "/api/v1/projects/tester/rich/runs?limit=100");
	assert_non_null(j);
	assert_int_equal(cJSON_GetObjectItem(j, "total")->valueint, 1);
	cJSON_Delete(j);
	j = wbt_get_json(&e, "/api/v1/projects/tester/rich/artifacts/model/best");
	assert_non_null(j);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "info"), "version")->valuestring, "v0");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "produced_by")), 0);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "used_by")), 1);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "used_by"), 0), "run_id")->valuestring,
			    ref + strlen("tester/rich/"));
	cJSON_Delete(j);
	assert_int_equal(same_bytes_on(&e, "/api/v1/projects/tester/rich/artifacts/dataset/v0/file?path=data/train.bin"),
			 (9u << 20) + 4321);

	/* the xp archive of the first test, made a version 1 archive: no media/, no artifacts, no projects */
	snprintf(dir, sizeof(dir), "%s/v1", root);
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p '%s' && tar -C '%s' -xzf '%s/xp.tar.gz' && rm -r '%s'/runs/*/*/*/media && "
		 "sed -i 's/\"version\":2/\"version\":1/; s/,\"artifacts\":\\[\\]//; "
		 "s/,\"projects\":\\[[^]]*\\]//' '%s/manifest.json' && "
		 "grep -q '\"version\":1' '%s/manifest.json' && ! grep -q artifacts '%s/manifest.json' && "
		 "! grep -q projects '%s/manifest.json' && tar -C '%s' -czf '%s/v1.tar.gz' manifest.json runs",
		 dir, dir, root, dir, dir, dir, dir, dir, dir, root);
	assert_int_equal(system(cmd), 0);
	snprintf(archive, sizeof(archive), "%s/v1.tar.gz", root);
	{
		const char *im[] = {wbt_wb_bin(), "import", archive, "--base-url", e.url, "--api-key", e.key, NULL};
		assert_int_equal(run_wb(im), 0);
	}
	j = wbt_get_json(&e, "/api/v1/projects/tester/xp/runs?limit=100");
	assert_non_null(j);
	assert_int_equal(cJSON_GetObjectItem(j, "total")->valueint, 3);
	cJSON_Delete(j);
	wbt_server_cleanup(&e);
}
