/*
 * End-to-end export and import: runs made on one real server (config,
 * tags, metrics with NaN/Inf and repeated steps, a metric definition,
 * explicit summary values, system metrics, the git capture with its patch,
 * finished, failed and crashed states; histograms, PNG and JPEG images with
 * captions, tables; artifacts with several versions, a deleted one, aliases,
 * metadata, a reference, a file shared between versions, a blob larger
 * than one upload chunk, and a consumer run) go through `wb export` into a
 * .tar.gz and `wb import` into a second real server; then every API answer
 * about them is compared: the project's times and visibility, the run
 * objects (but for the servers' own updated_at, heartbeat_at and last_seq), the metrics lists, every series
 * at full resolution bit for bit, the code capture and its patch, every
 * media value and image byte, every artifact, version, alias, lineage entry
 * (with its times) and file byte. Damaged archives (a
 * changed blob or image byte, a "../" entry) are refused and write nothing.
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

wbt_server a, b;
char root[256];

static int setup(void **state)
{
	(void)state;
	/* b first: the last started server is the one the SDK's environment points at */
	if (wbt_server_start(&b, NULL) < 0 || wbt_server_start(&a, NULL) < 0)
		return -1;
	return wbt_runs_dir(root, sizeof(root), "export");
}

static int teardown(void **state)
{
	(void)state;
	wbt_server_cleanup(&a);
	return wbt_tmp_done(&b, root);
}

int run_wb(const char *const *args)
{
	pid_t p;
	int st;
	fflush(NULL);
	p = fork();
	if (p == 0) {
		execv(wbt_wb_bin(), (char *const *)args);
		_exit(127);
	}
	if (waitpid(p, &st, 0) != p || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static char *get_body(const wbt_server *s, const char *path, long *status)
{
	wbt_response r;
	char *body;
	assert_int_equal(wbt_http(s, "GET", path, NULL, 0, NULL, 1, &r), 0);
	*status = r.status;
	body = r.body;
	r.body = NULL;
	wbt_response_free(&r);
	return body;
}

/* The same GET on a and on x gives the same bytes (images, artifact files). Returns the length. */
size_t same_bytes_on(const wbt_server *x, const char *path)
{
	wbt_response ra, rx;
	size_t n;

	assert_int_equal(wbt_http(&a, "GET", path, NULL, 0, NULL, 1, &ra), 0);
	assert_int_equal(wbt_http(x, "GET", path, NULL, 0, NULL, 1, &rx), 0);
	assert_int_equal(ra.status, 200);
	assert_int_equal(rx.status, 200);
	assert_int_equal(ra.len, rx.len);
	assert_memory_equal(ra.body, rx.body, ra.len);
	assert_string_equal(ra.content_type, rx.content_type);
	n = ra.len;
	wbt_response_free(&ra);
	wbt_response_free(&rx);
	return n;
}

static size_t same_bytes(const char *path)
{
	return same_bytes_on(&b, path);
}

/* The same GET on both servers gives the same answer (is_run: after dropping volatile members of a run
 * object). */
static void same(const char *path, int is_run)
{
	long sa, sb;
	char *xa = get_body(&a, path, &sa), *xb = get_body(&b, path, &sb);

	assert_int_equal(sa, sb);
	if (sa != 200) { /* an error: the same code (request ids differ) */
		cJSON *ja = cJSON_Parse(xa), *jb = cJSON_Parse(xb);
		assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(ja, "error"), "code")->valuestring,
				    cJSON_GetObjectItem(cJSON_GetObjectItem(jb, "error"), "code")->valuestring);
		cJSON_Delete(ja);
		cJSON_Delete(jb);
		free(xa);
		free(xb);
		return;
	}
	if (is_run) {
		/* parsed and printed keeping every number's text: cJSON alone would hide a changed digit */
		cJSON *ja = wb__json_parse_exact(xa, strlen(xa)), *jb = wb__json_parse_exact(xb, strlen(xb));
		static const char *const vol[] = {"updated_at", "heartbeat_at", "last_seq"};
		assert_non_null(ja);
		assert_non_null(jb);
		for (size_t i = 0; i < 3; i++) {
			cJSON_DeleteItemFromObject(ja, vol[i]);
			cJSON_DeleteItemFromObject(jb, vol[i]);
		}
		free(xa);
		free(xb);
		xa = wb__json_print_exact(ja);
		xb = wb__json_print_exact(jb);
		cJSON_Delete(ja);
		cJSON_Delete(jb);
	}
	if (strcmp(xa, xb) != 0)
		fprintf(stderr, "%s differs:\n A %.2000s\n B %.2000s\n", path, xa, xb);
	assert_string_equal(xa, xb);
	free(xa);
	free(xb);
}

/* Everything the API says of run id of tester/proj is the same on both servers: the run, its metrics at full
 * resolution, its code capture, its rich data (every value, every image's bytes). Returns the metric keys. */
static int same_run(const char *proj, const char *id)
{
	char path[1200], base[300];
	cJSON *list;
	const cJSON *m, *v;
	int nkeys = 0;

	snprintf(base, sizeof(base), "/api/v1/projects/tester/%s/runs/%s", proj, id);
	same(base, 1);
	snprintf(path, sizeof(path), "%s/metrics", base);
	same(path, 0);
	list = wbt_get_json(&a, path);
	assert_non_null(list);
	cJSON_ArrayForEach(m, cJSON_GetObjectItem(list, "metrics"))
	{
		char enc[800];
		const char *k = cJSON_GetObjectItem(m, "key")->valuestring;
		size_t o = 0;
		for (; *k; k++)
			o += (size_t)snprintf(enc + o, sizeof(enc) - o, *k == '/' ? "%%2F" : "%c", *k);
		snprintf(path, sizeof(path), "%s/export?key=%s&format=json&bits=1", base, enc);
		same(path, 0);
		nkeys++;
	}
	cJSON_Delete(list);
	snprintf(path, sizeof(path), "%s/code", base);
	same(path, 0);
	snprintf(path, sizeof(path), "%s/media", base);
	same(path, 0);
	list = wbt_get_json(&a, path);
	assert_non_null(list);
	cJSON_ArrayForEach(m, cJSON_GetObjectItem(list, "media"))
	{
		const char *kind = cJSON_GetObjectItem(m, "kind")->valuestring;
		cJSON *vals;
		snprintf(path, sizeof(path), "%s/media/%s?key=%s&samples=10000", base, kind,
			 cJSON_GetObjectItem(m, "key")->valuestring);
		same(path, 0);
		if (strcmp(kind, "image") != 0)
			continue;
		vals = wbt_get_json(&a, path);
		assert_non_null(vals);
		cJSON_ArrayForEach(v, cJSON_GetObjectItem(vals, "values"))
		{
			snprintf(path, sizeof(path), "%s/images/%s", base, cJSON_GetObjectItem(v, "sha256")->valuestring);
			assert_int_equal(same_bytes(path), (size_t)cJSON_GetObjectItem(v, "bytes")->valuedouble);
		}
		cJSON_Delete(vals);
	}
	cJSON_Delete(list);
	return nkeys;
}

static void make_runs(char ids[3][64])
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run;
	wbt_response r;
	const char *h[] = {"Content-Type: application/json", NULL};

	o.project = "xp";
	o.entity = "tester";
	o.mode = WB_MODE_ONLINE;
	o.tags = "baseline,fp16";
	o.notes = "first <try> & \"quotes\"";
	o.group = "g1";
	o.job_type = "train";
	o.system_sample_ms = 50;
	o.disable_git = 0;
	assert_int_equal(wb_init(&run, &o), WB_OK);
	snprintf(ids[0], 64, "%s", wb_run_id(run));
	assert_int_equal(wb_config_set_double(run, "optimizer.lr", 0.1), WB_OK);
	assert_int_equal(wb_config_set_string(run, "model", "resnet"), WB_OK);
	assert_int_equal(wb_define_metric(run, "val/acc", NULL, WB_SUMMARY_MAX | WB_SUMMARY_LAST), WB_OK);
	for (int s = 0; s < 3000; s++) {
		double loss = s == 7 ? NAN : s == 8 ? INFINITY : s == 9 ? -INFINITY : 1.0 / (s + 1) + 1e-17 * s;
		assert_int_equal(WB_LOG(run, s, {"loss", loss}), WB_OK);
		if (s % 10 == 0)
			assert_int_equal(WB_LOG(run, s, {"val/acc", s * 0.001}, {"loss", -loss}), WB_OK); /* twice at s */
	}
	assert_int_equal(wb_summary_set_string(run, "verdict", "good"), WB_OK);
	assert_int_equal(wb_summary_set_double(run, "best", 0.3), WB_OK);
	usleep(200000); /* let the system sampler take a few samples (what is sampled is compared, not counted) */
	assert_int_equal(wb_finish(run, 0), WB_OK);

	o.system_sample_ms = -1;
	o.disable_git = 1;
	o.tags = NULL;
	o.notes = NULL;
	o.group = NULL;
	o.job_type = NULL;
	assert_int_equal(wb_init(&run, &o), WB_OK);
	snprintf(ids[1], 64, "%s", wb_run_id(run));
	assert_int_equal(WB_LOG(run, WB_STEP_AUTO, {"loss", 2.5}), WB_OK);
	assert_int_equal(wb_finish(run, 2), WB_OK);

	snprintf(ids[2], 64, "gone-1");
	assert_int_equal(wbt_http(&a, "PUT", "/api/v1/projects/tester/xp/runs/gone-1", "{}", 2, h, 1, &r), 0);
	wbt_response_free(&r);
	assert_int_equal(wbt_http(&a, "POST", "/api/v1/projects/tester/xp/runs/gone-1/finish", "{\"crashed\":true}", 16, h, 1,
				  &r), 0);
	assert_int_equal(r.status, 200);
	wbt_response_free(&r);
}

/* The run ids of a runs-list answer, in order, comma-separated into out. */
static void list_ids(const wbt_server *x, const char *path, char *out, size_t cap)
{
	cJSON *j = wbt_get_json(x, path);
	const cJSON *r;
	size_t o = 0;

	assert_non_null(j);
	out[0] = '\0';
	cJSON_ArrayForEach(r, cJSON_GetObjectItem(j, "runs"))
		o += (size_t)snprintf(out + o, cap - o, "%s,", cJSON_GetObjectItem(r, "id")->valuestring);
	assert_true(o < cap);
	cJSON_Delete(j);
}

/* Project ent/name as server x's project list shows it (the caller deletes it), or NULL. */
static cJSON *project_entry(const wbt_server *x, const char *ent, const char *name)
{
	cJSON *j = wbt_get_json(x, "/api/v1/projects"), *out = NULL;
	const cJSON *p;

	assert_non_null(j);
	cJSON_ArrayForEach(p, cJSON_GetObjectItem(j, "projects"))
		if (!strcmp(cJSON_GetObjectItem(p, "entity")->valuestring, ent) &&
		    !strcmp(cJSON_GetObjectItem(p, "name")->valuestring, name))
			out = cJSON_Duplicate(p, 1);
	cJSON_Delete(j);
	return out;
}

/* PUT body to /api/v1/projects/tester/xp on x as its admin; the status. */
static long put_project(const wbt_server *x, const char *body)
{
	const char *h[] = {"Content-Type: application/json", NULL};
	wbt_response r;
	long st;

	assert_int_equal(wbt_http(x, "PUT", "/api/v1/projects/tester/xp", body, strlen(body), h, 1, &r), 0);
	st = r.status;
	wbt_response_free(&r);
	return st;
}

/* The project's created_at, updated_at and visibility are the same on a and b. */
static void same_project_times(const char *ent, const char *name)
{
	cJSON *pa = project_entry(&a, ent, name), *pb = project_entry(&b, ent, name);
	static const char *const m[] = {"created_at", "updated_at"};

	assert_non_null(pa);
	assert_non_null(pb);
	for (size_t i = 0; i < 2; i++) {
		double ta = cJSON_GetObjectItem(pa, m[i])->valuedouble, tb = cJSON_GetObjectItem(pb, m[i])->valuedouble;
		if (ta != tb)
			fprintf(stderr, "project %s/%s %s: %.17g on the source, %.17g after import\n", ent, name, m[i], ta,
				tb);
		assert_true(ta == tb);
	}
	assert_string_equal(cJSON_GetObjectItem(pa, "visibility")->valuestring,
			    cJSON_GetObjectItem(pb, "visibility")->valuestring);
	cJSON_Delete(pa);
	cJSON_Delete(pb);
}

static void test_e2e_export__round_trip_is_identical_through_the_api(void **state)
{
	char ids[3][64], archive[400], path[1200];
	cJSON *run;
	int nkeys = 0;

	(void)state;
	make_runs(ids);
	assert_int_equal(put_project(&a, "{\"visibility\":\"public\"}"), 200);
	snprintf(archive, sizeof(archive), "%s/xp.tar.gz", root);
	{
		const char *args[] = {wbt_wb_bin(), "export", "--project", "tester/xp", archive, "--base-url", a.url,
				      "--api-key", a.key, NULL};
		assert_int_equal(run_wb(args), 0);
	}
	{
		const char *args[] = {wbt_wb_bin(), "import", archive, "--base-url", b.url, "--api-key", b.key, NULL};
		assert_int_equal(run_wb(args), 0);
		/* a second import refuses to merge into the runs it made */
		assert_int_equal(run_wb(args), 1);
	}
	{
		const char *args[] = {wbt_wb_bin(), "import", "/nonexistent.tar.gz", "--base-url", b.url, "--api-key", b.key, NULL};
		assert_int_equal(run_wb(args), 1);
	}
	for (int i = 0; i < 3; i++)
		nkeys += same_run("xp", ids[i]);
	/* the project keeps its times and visibility (the import made it) */
	same_project_times("tester", "xp");
	/* times that cannot be are refused, and change nothing */
	assert_int_equal(put_project(&b, "{\"created_at\":5,\"updated_at\":1}"), 400);
	assert_int_equal(put_project(&b, "{\"created_at\":5}"), 400);
	assert_int_equal(put_project(&b, "{\"created_at\":\"5\",\"updated_at\":6}"), 400);
	assert_int_equal(put_project(&b, "{\"created_at\":-1,\"updated_at\":6}"), 400);
	same_project_times("tester", "xp");
	/* ties sort alike (two runs have no config.model): the import made the runs in the source's order */
	{
		char la[400], lb[400];
		list_ids(&a, "/api/v1/projects/tester/xp/runs?sort=config.model", la, sizeof(la));
		list_ids(&b, "/api/v1/projects/tester/xp/runs?sort=config.model", lb, sizeof(lb));
		assert_string_equal(la, lb);
		list_ids(&a, "/api/v1/projects/tester/xp/runs?sort=-config.model", la, sizeof(la));
		list_ids(&b, "/api/v1/projects/tester/xp/runs?sort=-config.model", lb, sizeof(lb));
		assert_string_equal(la, lb);
	}
	/* the first run had everything: check it was really there to compare */
	snprintf(path, sizeof(path), "/api/v1/projects/tester/xp/runs/%s", ids[0]);
	run = wbt_get_json(&b, path);
	assert_non_null(run);
	assert_string_equal(cJSON_GetObjectItem(run, "state")->valuestring, "finished");
	assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(run, "metadata"), "code"));
	cJSON_Delete(run);
	snprintf(path, sizeof(path), "/api/v1/projects/tester/xp/runs/%s/code/diff.patch", ids[0]);
	same(path, 0);
	assert_true(nkeys >= 5); /* loss, val/acc, _timestamp, system/... */
	run = wbt_get_json(&b, "/api/v1/projects/tester/xp/runs/gone-1");
	assert_string_equal(cJSON_GetObjectItem(run, "state")->valuestring, "crashed");
	cJSON_Delete(run);
	/* a crashed run lasts to its last heartbeat: the same on both servers */
	{
		cJSON *ra = wbt_get_json(&a, "/api/v1/projects/tester/xp/runs/gone-1"),
		      *rb = wbt_get_json(&b, "/api/v1/projects/tester/xp/runs/gone-1");
		assert_true(cJSON_GetObjectItem(ra, "heartbeat_at")->valuedouble ==
			    cJSON_GetObjectItem(rb, "heartbeat_at")->valuedouble);
		assert_true(cJSON_GetObjectItem(ra, "created_at")->valuedouble ==
			    cJSON_GetObjectItem(rb, "created_at")->valuedouble);
		cJSON_Delete(ra);
		cJSON_Delete(rb);
	}
}

/* How many runs of tester/num the filter finds on server x (the filter URL-encoded). */
static int filtered(const wbt_server *x, const char *filter)
{
	char path[512];
	cJSON *j;
	int n;
	snprintf(path, sizeof(path), "/api/v1/projects/tester/num/runs?filter=%s", filter);
	j = wbt_get_json(x, path);
	assert_non_null(j);
	n = cJSON_GetArraySize(cJSON_GetObjectItem(j, "runs"));
	cJSON_Delete(j);
	return n;
}

/* Numbers come back as they were written: integers past 2^53, INT64_MIN,
 * a double cJSON's printer would shorten, in config, summary and artifact
 * metadata (through the SDK, then through export and import), so a filter
 * on them finds the same runs on both servers. */
static void test_e2e_export__numbers_exact(void **state)
{
	static const char *const tokens[] = {"9007199254740993", "-9223372036854775808", "0.30000000000000004",
					     "123456789012345678"};
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	char archive[400], path[400], id[64];
	wb_artifact *art;
	wb_run *run;
	int64_t v = -1;
	long st;
	char *body;

	(void)state;
	o.project = "num";
	o.entity = "tester";
	o.mode = WB_MODE_ONLINE;
	o.base_url = a.url; /* the tests before moved WB_BASE_URL to servers they stopped */
	o.api_key = a.key;
	o.disable_git = 1;
	o.system_sample_ms = -1;
	assert_int_equal(wb_init(&run, &o), WB_OK);
	snprintf(id, sizeof(id), "%s", wb_run_id(run));
	assert_int_equal(wb_config_set_int(run, "big", INT64_C(9007199254740993)), WB_OK);
	assert_int_equal(wb_config_set_int(run, "min", INT64_MIN), WB_OK);
	assert_int_equal(wb_config_set_double(run, "third", 0.30000000000000004), WB_OK);
	assert_int_equal(wb_summary_set_double(run, "third", 0.30000000000000004), WB_OK);
	assert_int_equal(wb_artifact_new(&art, "nums", "dataset"), WB_OK);
	assert_int_equal(wb_artifact_add_reference(art, "s3://bucket/x",
						   "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 1, NULL),
			 WB_OK);
	assert_int_equal(wb_artifact_set_metadata(art, "{\"id\":123456789012345678,\"p\":0.30000000000000004}"), WB_OK);
	assert_int_equal(wb_log_artifact(run, art, NULL, 0, &v), WB_OK);
	wb_artifact_free(art);
	assert_int_equal(wb_finish(run, 0), WB_OK);

	snprintf(archive, sizeof(archive), "%s/num.tar.gz", root);
	{
		const char *ex[] = {wbt_wb_bin(), "export", "--project", "tester/num", archive, "--base-url", a.url,
				    "--api-key", a.key, NULL};
		const char *im[] = {wbt_wb_bin(), "import", archive, "--base-url", b.url, "--api-key", b.key, NULL};
		assert_int_equal(run_wb(ex), 0);
		assert_int_equal(run_wb(im), 0);
	}
	/* on both servers, as written: the source has them from the SDK, the target from the archive */
	for (int side = 0; side < 2; side++) {
		const wbt_server *x = side ? &b : &a;
		snprintf(path, sizeof(path), "/api/v1/projects/tester/num/runs/%s", id);
		body = get_body(x, path, &st);
		assert_int_equal(st, 200);
		for (size_t i = 0; i < 3; i++)
			if (!strstr(body, tokens[i]))
				fail_msg("%s: run has no %s: %.1500s", side ? "target" : "source", tokens[i], body);
		free(body);
		body = get_body(x, "/api/v1/projects/tester/num/artifacts/nums/v0", &st);
		assert_int_equal(st, 200);
		if (!strstr(body, tokens[2]) || !strstr(body, tokens[3]))
			fail_msg("%s: metadata changed: %.1500s", side ? "target" : "source", body);
		free(body);
		assert_int_equal(filtered(x, "config.big%3D9007199254740993"), 1);
		assert_int_equal(filtered(x, "config.big%3D9007199254740992"), 0);
		assert_int_equal(filtered(x, "config.min%3D-9223372036854775808"), 1);
	}
	snprintf(path, sizeof(path), "/api/v1/projects/tester/num/runs/%s", id);
	same(path, 1);
}

/* --all into a third server; archives that are not ours, or that name runs badly, are refused. */
static void test_e2e_export__all_and_hostile_archives(void **state)
{
	wbt_server c;
	char archive[400], dir[300], cmd[2400];
	cJSON *ra, *rc;
	FILE *f;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(wbt_server_start(&c, NULL), 0);
	snprintf(archive, sizeof(archive), "%s/all.tar.gz", root);
	{
		const char *ex[] = {wbt_wb_bin(), "export", "--all", archive, "--base-url", a.url, "--api-key", a.key, NULL};
		const char *im[] = {wbt_wb_bin(), "import", archive, "--base-url", c.url, "--api-key", c.key, NULL};
		assert_int_equal(run_wb(ex), 0);
		assert_int_equal(run_wb(im), 0);
	}
	ra = wbt_get_json(&a, "/api/v1/projects/tester/xp/runs?limit=1000");
	rc = wbt_get_json(&c, "/api/v1/projects/tester/xp/runs?limit=1000");
	assert_non_null(ra);
	assert_non_null(rc);
	assert_int_equal(cJSON_GetObjectItem(ra, "total")->valueint, 3);
	assert_int_equal(cJSON_GetObjectItem(rc, "total")->valueint, 3);
	cJSON_Delete(ra);
	cJSON_Delete(rc);

	/* not an archive */
	snprintf(dir, sizeof(dir), "%s/junk.tar.gz", root);
	f = fopen(dir, "w");
	assert_non_null(f);
	fputs("this is not a tar.gz", f);
	fclose(f);
	{
		const char *im[] = {wbt_wb_bin(), "import", dir, "--base-url", c.url, "--api-key", c.key, NULL};
		assert_int_equal(run_wb(im), 1);
	}
	/* a manifest that names "../x": refused before anything is sent */
	snprintf(dir, sizeof(dir), "%s/hostile", root);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && printf '%%s' '{\"format\":\"wb-export\",\"version\":1,"
		 "\"runs\":[{\"entity\":\"..\",\"project\":\"p\",\"id\":\"r\"}]}' > '%s/manifest.json' && "
		 "tar -C '%s' -czf '%s/hostile.tar.gz' manifest.json", dir, dir, dir, root);
	assert_int_equal(system(cmd), 0);
	snprintf(archive, sizeof(archive), "%s/hostile.tar.gz", root);
	{
		const char *im[] = {wbt_wb_bin(), "import", archive, "--base-url", c.url, "--api-key", c.key, NULL};
		assert_int_equal(run_wb(im), 1);
	}
	/* bad arguments */
	{
		const char *ex[] = {wbt_wb_bin(), "export", "--run", "../x/y", archive, NULL};
		const char *ex2[] = {wbt_wb_bin(), "export", "--all", "--project", "a/b", archive, NULL};
		assert_int_equal(run_wb(ex), 1);
		assert_int_equal(run_wb(ex2), 2);
	}
	ra = wbt_get_json(&c, "/api/v1/projects");
	assert_non_null(ra);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(ra, "projects")), 1); /* nothing else was made */
	cJSON_Delete(ra);
	wbt_server_cleanup(&c);
}

/* A tiny baseline JPEG header (SOI, APP0, SOF0 of 3x2, EOI): enough for its signature and size. */
static const uint8_t JPEG[] = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0,
			       0xFF, 0xC0, 0x00, 0x11, 8, 0x00, 0x02, 0x00, 0x03, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1,
			       0xFF, 0xD9};

/* A file of n pseudo-random bytes from seed (incompressible, so the blob is as large as the file). */
static void write_file(const char *path, size_t n, uint32_t seed)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		fputc((int)(seed >> 16) & 0xff, f);
	}
	assert_int_equal(fclose(f), 0);
}

static int64_t log_model(wb_run *run, const char *dir, uint32_t seed, const char *meta, const char *alias)
{
	char f[400], shared[400];
	wb_artifact *art;
	int64_t v = -1;
	const char *al[] = {alias};

	snprintf(f, sizeof(f), "%s/model.bin", dir);
	snprintf(shared, sizeof(shared), "%s/vocab.txt", dir);
	write_file(f, 200000, seed);
	write_file(shared, 5000, 7); /* the same bytes in every version: one blob */
	assert_int_equal(wb_artifact_new(&art, "model", "model"), WB_OK);
	assert_int_equal(wb_artifact_add_file(art, f, NULL), WB_OK);
	assert_int_equal(wb_artifact_add_file(art, shared, "tok/vocab.txt"), WB_OK);
	assert_int_equal(wb_artifact_add_reference(art, "s3://bucket/train.csv",
						   "aaaabbbbccccddddeeeeffff0000111122223333444455556666777788889999", 123456,
						   NULL), WB_OK);
	assert_int_equal(wb_artifact_set_metadata(art, meta), WB_OK);
	assert_int_equal(wb_log_artifact(run, art, al, alias ? 1 : 0, &v), WB_OK);
	wb_artifact_free(art);
	return v;
}

/*
 * tester/rich: a producer run with metrics, histograms, PNG and JPEG images
 * with captions and a table, that logs model v0..v2 (v1 then deleted, so
 * there is a gap; best moved to v0) and dataset v0 (a 9 MiB file: more than
 * one upload chunk); and a consumer run that uses model:best and dataset.
 */
static void make_rich(char prod[64], char cons[64])
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run;
	wb_artifact *art;
	wbt_response r;
	char dir[300], f[400], dl[400];
	static uint8_t rgb[5 * 4 * 3];
	double vals[100], edges[] = {-1, 0, 0.5, 2}, counts[] = {3, 0.25, 7};
	const char *best[] = {"best"};
	const char *h[] = {"Content-Type: application/json", NULL};
	int64_t v;

	/* the SDK talks to a (a later test's server moved the environment) */
	setenv("WB_CONFIG_DIR", a.config_dir, 1);
	setenv("WB_BASE_URL", a.url, 1);
	setenv("WB_API_KEY", a.key, 1);
	o.project = "rich";
	o.entity = "tester";
	o.mode = WB_MODE_ONLINE;
	o.system_sample_ms = -1;
	assert_int_equal(wb_init(&run, &o), WB_OK);
	snprintf(prod, 64, "%s", wb_run_id(run));
	for (size_t i = 0; i < sizeof(rgb); i++)
		rgb[i] = (uint8_t)(i * 37);
	for (int s = 0; s < 5; s++) {
		for (int i = 0; i < 100; i++)
			vals[i] = s * 0.5 + i * 0.01 - (i == 3 ? INFINITY : 0);
		assert_int_equal(WB_LOG(run, s, {"loss", 1.0 / (s + 1)}), WB_OK);
		assert_int_equal(wb_log_histogram(run, "weights", vals, 100, WB_STEP_AUTO), WB_OK);
	}
	assert_int_equal(wb_log_histogram_bins(run, "density", edges, counts, 3, 4), WB_OK);
	assert_int_equal(wb_log_image_rgb(run, "samples", rgb, 5, 4, "a cat\tsitting <b>here</b> caf\xc3\xa9", 4), WB_OK);
	assert_int_equal(WB_LOG(run, 5, {"loss", 0.1}), WB_OK);
	assert_int_equal(wb_log_image(run, "samples", JPEG, sizeof JPEG, "a jpeg\nof two lines", 5), WB_OK);
	assert_int_equal(wb_log_image(run, "jpeg-again", JPEG, sizeof JPEG, NULL, 5), WB_OK); /* the same bytes */
	assert_int_equal(wb_log_table(run, "preds",
				      "{\"columns\":[\"name\",\"score\",\"ok\"],"
				      "\"data\":[[\"a\",1.5,true],[\"b\",null,false],[\"\\u00e9\\\"q\",-2e-300,null]]}",
				      5), WB_OK);
	snprintf(dir, sizeof(dir), "%s/rich-files", root);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(log_model(run, dir, 1, "{\"acc\":0.5,\"layers\":[1,2]}", "best"), 0);
	assert_int_equal(log_model(run, dir, 2, "{\"acc\":0.7}", NULL), 1);
	assert_int_equal(log_model(run, dir, 3, "{\"acc\":0.9,\"note\":\"<script>\"}", NULL), 2);
	snprintf(f, sizeof(f), "%s/train.bin", dir);
	write_file(f, (9u << 20) + 4321, 99);
	assert_int_equal(wb_artifact_new(&art, "dataset", "dataset"), WB_OK);
	assert_int_equal(wb_artifact_add_file(art, f, "data/train.bin"), WB_OK);
	assert_int_equal(wb_log_artifact(run, art, best, 1, &v), WB_OK);
	assert_int_equal(v, 0);
	wb_artifact_free(art);
	assert_int_equal(wb_finish(run, 0), WB_OK);
	/* v1 deleted: its number is not reused; best moved back to v0 */
	assert_int_equal(wbt_http(&a, "DELETE", "/api/v1/projects/tester/rich/artifacts/model/v1", NULL, 0, NULL, 1, &r), 0);
	assert_int_equal(r.status, 200);
	wbt_response_free(&r);
	assert_int_equal(wbt_http(&a, "PUT", "/api/v1/projects/tester/rich/artifacts/model/aliases/best",
				  "{\"version\":\"v0\"}", 16, h, 1, &r), 0);
	assert_int_equal(r.status, 200);
	wbt_response_free(&r);

	o.job_type = "eval";
	assert_int_equal(wb_init(&run, &o), WB_OK);
	snprintf(cons, 64, "%s", wb_run_id(run));
	snprintf(dl, sizeof(dl), "%s/rich-dl", root);
	assert_int_equal(wb_use_artifact(run, "dataset", dl, &v), WB_OK);
	assert_int_equal(v, 0);
	assert_int_equal(wb_use_artifact(run, "model:best", dl, &v), WB_OK);
	assert_int_equal(v, 0);
	assert_int_equal(WB_LOG(run, 0, {"acc", 0.5}), WB_OK);
	assert_int_equal(wb_finish(run, 0), WB_OK);
}

/* Every version of tester/rich/NAME and its files' bytes are the same on both servers. Returns the versions. */
static int same_artifact(const char *name)
{
	char path[1200], base[300];
	cJSON *art, *ver;
	const cJSON *v, *f;
	int n = 0;

	snprintf(base, sizeof(base), "/api/v1/projects/tester/rich/artifacts/%s", name);
	same(base, 0);
	art = wbt_get_json(&a, base);
	assert_non_null(art);
	cJSON_ArrayForEach(v, cJSON_GetObjectItem(art, "versions"))
	{
		snprintf(path, sizeof(path), "%s/%s", base, cJSON_GetObjectItem(v, "version")->valuestring);
		same(path, 0);
		ver = wbt_get_json(&a, path);
		assert_non_null(ver);
		cJSON_ArrayForEach(f, cJSON_GetObjectItem(ver, "files"))
		{
			if (cJSON_IsString(cJSON_GetObjectItem(f, "ref")))
				continue;
			snprintf(path, sizeof(path), "%s/%s/file?path=%s", base, cJSON_GetObjectItem(v, "version")->valuestring,
				 cJSON_GetObjectItem(f, "path")->valuestring);
			assert_int_equal(same_bytes(path), (size_t)cJSON_GetObjectItem(f, "size")->valuedouble);
		}
		cJSON_Delete(ver);
		n++;
	}
	cJSON_Delete(art);
	return n;
}

static void test_e2e_export__media_and_artifacts_round_trip(void **state)
{
	char prod[64], cons[64], archive[400], path[600];
	const char *h[] = {"Content-Type: application/json", NULL};
	const char *next = "{\"type\":\"model\",\"files\":[{\"path\":\"x\",\"size\":1,\"ref\":\"s3://b/x\","
			   "\"sha256\":\"1111111111111111111111111111111111111111111111111111111111111111\"}]}";
	cJSON *j;
	wbt_response r;

	(void)state;
	make_rich(prod, cons);
	snprintf(archive, sizeof(archive), "%s/rich.tar.gz", root);
	{
		const char *ex[] = {wbt_wb_bin(), "export", "--project", "tester/rich", archive, "--base-url", a.url,
				    "--api-key", a.key, NULL};
		const char *im[] = {wbt_wb_bin(), "import", archive, "--base-url", b.url, "--api-key", b.key, NULL};
		assert_int_equal(run_wb(ex), 0);
		assert_int_equal(run_wb(im), 0);
		assert_int_equal(run_wb(im), 1); /* the runs and artifacts exist now: refused, not merged */
	}
	same_run("rich", prod);
	same_run("rich", cons);
	assert_int_equal(same_artifact("model"), 2);
	assert_int_equal(same_artifact("dataset"), 1);
	static const char *const paths[] = {"model/v0", "model/v1", "model/v2", "model/v3", "model/best", "model/latest",
					    "dataset/best"};
	for (size_t i = 0; i < sizeof(paths) / sizeof(*paths); i++) {
		snprintf(path, sizeof(path), "/api/v1/projects/tester/rich/artifacts/%s", paths[i]);
		same(path, 0);
	}
	snprintf(path, sizeof(path), "/api/v1/projects/tester/rich/runs/%s/artifacts", prod);
	same(path, 0);
	snprintf(path, sizeof(path), "/api/v1/projects/tester/rich/runs/%s/artifacts", cons);
	same(path, 0);
	/* the artifacts list, in the same order (by the versions' times, kept by the import) */
	same("/api/v1/projects/tester/rich/artifacts", 0);

	/* what was compared is really there on the target */
	j = wbt_get_json(&b, "/api/v1/projects/tester/rich/artifacts/model/best");
	assert_non_null(j);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "info"), "version")->valuestring, "v0");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "produced_by"), 0), "run_id")->valuestring,
			    prod);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "used_by"), 0), "run_id")->valuestring,
			    cons);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "files")), 3);
	assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "metadata"), "acc")->valuedouble == 0.5);
	cJSON_Delete(j);
	j = wbt_get_json(&b, "/api/v1/projects/tester/rich/artifacts/model/latest");
	assert_non_null(j);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "info"), "version")->valuestring, "v2");
	cJSON_Delete(j);
	snprintf(path, sizeof(path), "/api/v1/projects/tester/rich/runs/%s/media", prod);
	j = wbt_get_json(&b, path);
	assert_non_null(j);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "media")), 5); /* density, weights, 2 images, preds */
	cJSON_Delete(j);
	/* the next version gets the same number on both (v1 stays used) */
	assert_int_equal(wbt_http(&a, "POST", "/api/v1/projects/tester/rich/artifacts/model", next, strlen(next), h, 1, &r), 0);
	assert_int_equal(r.status, 201);
	assert_non_null(strstr(r.body, "\"version\":\"v3\""));
	wbt_response_free(&r);
	assert_int_equal(wbt_http(&b, "POST", "/api/v1/projects/tester/rich/artifacts/model", next, strlen(next), h, 1, &r), 0);
	assert_int_equal(r.status, 201);
	assert_non_null(strstr(r.body, "\"version\":\"v3\""));
	wbt_response_free(&r);
}

/* Run wb with args, its stderr into file err. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_export__round_trip_is_identical_through_the_api),
		cmocka_unit_test(test_e2e_export__all_and_hostile_archives),
		cmocka_unit_test(test_e2e_export__media_and_artifacts_round_trip),
		cmocka_unit_test(test_e2e_export__damaged_archives_write_nothing),
		cmocka_unit_test(test_e2e_export__one_run_and_version_1_archives),
		cmocka_unit_test(test_e2e_export__numbers_exact), /* last: --all above counts the projects */
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}