/*
 * test_sync.c — the uploader thread and wb_sync against a fault-injecting
 * peer: the faults a real server produces only by accident (a 503 without
 * applying, a lost ack after applying, a wrong last_seq) on demand.
 *
 * The peer is a few dozen lines of civetweb in this file that implements
 * the ingest contract of schema/api.md for one run: PUT/GET the run, POST
 * records (gzip, frames, skip seqs it has, 409 sequence_gap), heartbeat,
 * finish, bearer auth. It can fail on purpose: answer 503 without
 * applying, apply and then answer 500 (a lost ack), or claim a last_seq
 * it does not have. It records every seq it applies, so the tests can
 * check "exactly once, in order". For the SDK's HTTP client as artifacts
 * use it, it also serves one artifact version of one file (GET only) and
 * can answer 429 with a Retry-After first. The end-to-end tests against
 * the real server live in tests/e2e.
 */
#include "test_sdk_helpers.h"

#include <civetweb.h>
#include <dirent.h>
#include <pthread.h>
#include <sys/wait.h>
#include <zlib.h>

#include "runlog.h"

typedef struct fake {
	struct mg_context *ctx;
	int port;
	char url[64];
	pthread_mutex_t mu;
	const char *key;          /* required bearer key, or NULL */
	int exists;
	uint64_t last_seq;
	int64_t last_step;
	char state[16];
	int exit_code;
	int puts, gets, posts, heartbeats, finishes, unauthorized, gaps;
	int fail_posts;           /* answer the next N record POSTs with 503, applying nothing */
	int lose_acks;            /* apply the next N record POSTs, then answer 500 */
	uint64_t put_claims_extra; /* PUT answers last_seq + this */
	int gzip_posts;
	uint64_t applied[200000];  /* seqs in the order applied */
	size_t napplied;
	uint64_t metrics_points;
	int art_busy;             /* answer the next N artifact GETs 429, Retry-After: 1 */
	int art_gets;
	const char *art_file;     /* the content served for the version's one file */
} fake;

#define ART_FILE "hello"
#define ART_SHA "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" /* sha256 of ART_FILE */

static fake F;
static char dir[256];

static void reply(struct mg_connection *c, int status, const char *json)
{
	mg_printf(c,
		  "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
		  "Connection: keep-alive\r\n\r\n%s",
		  status, strlen(json), json);
}

static void reply_run(struct mg_connection *c, int status, uint64_t claim_extra)
{
	char buf[256];

	snprintf(buf, sizeof buf, "{\"id\":\"x\",\"state\":\"%s\",\"last_seq\":%llu,\"last_step\":%lld,\"name\":\"srv-name\"}",
		 F.state, (unsigned long long)(F.last_seq + claim_extra), (long long)F.last_step);
	reply(c, status, buf);
}

/* Read the whole body (at most 64 MiB); caller frees. */
static uint8_t *read_body(struct mg_connection *c, size_t *len)
{
	const struct mg_request_info *ri = mg_get_request_info(c);
	size_t want = ri->content_length > 0 ? (size_t)ri->content_length : 0, have = 0;
	uint8_t *buf = malloc(want + 1);

	while (have < want) {
		int n = mg_read(c, buf + have, want - have);
		if (n <= 0)
			break;
		have += (size_t)n;
	}
	buf[have] = 0;
	*len = have;
	return buf;
}

static uint8_t *gunzip(const uint8_t *in, size_t len, size_t *out_len)
{
	size_t cap = 64u << 20;
	uint8_t *out = malloc(cap);
	z_stream z = {0};

	inflateInit2(&z, 31);
	z.next_in = (uint8_t *)in;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	if (inflate(&z, Z_FINISH) != Z_STREAM_END) {
		inflateEnd(&z);
		free(out);
		return NULL;
	}
	*out_len = cap - z.avail_out;
	inflateEnd(&z);
	return out;
}

static void post_records(struct mg_connection *c, uint8_t *body, size_t len)
{
	const char *ce = mg_get_header(c, "Content-Encoding");
	uint8_t *raw = body;
	size_t rlen = len, off = 0;
	char buf[200];
	wb__frame f;
	size_t used;

	if (strcmp(mg_get_header(c, "Content-Type") ? mg_get_header(c, "Content-Type") : "",
		   "application/x-wb-frames") != 0) {
		reply(c, 415, "{\"error\":{\"code\":\"unsupported_media_type\",\"message\":\"wrong content type\"}}");
		return;
	}
	if (ce && strcmp(ce, "gzip") == 0) {
		F.gzip_posts++;
		raw = gunzip(body, len, &rlen);
		if (!raw) {
			reply(c, 400, "{\"error\":{\"code\":\"invalid_record\",\"message\":\"bad gzip\"}}");
			return;
		}
	}
	if (F.fail_posts > 0) {
		F.fail_posts--;
		reply(c, 503, "{\"error\":{\"code\":\"unavailable\",\"message\":\"try later\"}}");
		goto done;
	}
	if (wb__frame_decode(raw, rlen, &f, &used) == WB__FRAME_OK && f.seq > F.last_seq + 1) {
		F.gaps++;
		snprintf(buf, sizeof buf,
			 "{\"error\":{\"code\":\"sequence_gap\",\"message\":\"expected seq %llu\"},\"expected\":%llu}",
			 (unsigned long long)F.last_seq + 1, (unsigned long long)F.last_seq + 1);
		reply(c, 409, buf);
		goto done;
	}
	while (off < rlen) {
		if (wb__frame_decode(raw + off, rlen - off, &f, &used) != WB__FRAME_OK) {
			reply(c, 400, "{\"error\":{\"code\":\"invalid_record\",\"message\":\"bad frame\"}}");
			goto done;
		}
		off += used;
		if (f.seq <= F.last_seq)
			continue;
		assert_int_equal(f.seq, F.last_seq + 1);
		F.applied[F.napplied++] = f.seq;
		F.last_seq = f.seq;
		if (f.type == WB__REC_METRICS) {
			wb__metrics_reader r;
			assert_int_equal(wb__metrics_begin(&r, f.payload, f.len), 0);
			F.last_step = r.step;
			F.metrics_points += r.n;
		} else if (f.type == WB__REC_FINISH) {
			snprintf(F.state, sizeof F.state, "finished");
		} else if (f.type == WB__REC_RUN) {
			snprintf(F.state, sizeof F.state, "running");
		}
	}
	if (F.lose_acks > 0) {
		F.lose_acks--;
		reply(c, 500, "{\"error\":{\"code\":\"internal\",\"message\":\"ack lost\"}}");
		goto done;
	}
	snprintf(buf, sizeof buf, "{\"last_seq\":%llu,\"applied\":1}", (unsigned long long)F.last_seq);
	reply(c, 200, buf);
done:
	if (raw != body)
		free(raw);
}

/* GET .../artifacts/model/latest: version 3 of "model", one file a.txt
 * of ART_FILE; GET .../artifacts/model/v3/file: F.art_file. */
static void artifact_get(struct mg_connection *c, const char *uri)
{
	F.art_gets++;
	if (F.art_busy > 0) {
		F.art_busy--;
		mg_printf(c, "HTTP/1.1 429 X\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
			     "Content-Length: 2\r\nConnection: keep-alive\r\n\r\n{}");
	} else if (strstr(uri, "/artifacts/model/latest")) {
		reply(c, 200, "{\"info\":{\"index\":3},\"files\":[{\"path\":\"a.txt\",\"sha256\":\"" ART_SHA
			      "\",\"size\":" "5" "}]}");
	} else if (strstr(uri, "/artifacts/model/v3/file")) {
		mg_printf(c, "HTTP/1.1 200 X\r\nContent-Type: application/octet-stream\r\nContent-Length: %zu\r\n"
			     "Connection: keep-alive\r\n\r\n%s",
			  strlen(F.art_file), F.art_file);
	} else {
		reply(c, 404, "{\"error\":{\"code\":\"not_found\",\"message\":\"no such artifact\"}}");
	}
}

static int handler(struct mg_connection *c, void *arg)
{
	const struct mg_request_info *ri = mg_get_request_info(c);
	const char *auth = mg_get_header(c, "Authorization");
	const char *uri = ri->local_uri, *runs = strstr(uri, "/runs/"), *suffix;
	char want[128];
	uint8_t *body;
	size_t len;

	(void)arg;
	body = read_body(c, &len);
	pthread_mutex_lock(&F.mu);
	snprintf(want, sizeof want, "Bearer %s", F.key ? F.key : "");
	if (F.key && (!auth || strcmp(auth, want) != 0)) {
		F.unauthorized++;
		reply(c, 401, "{\"error\":{\"code\":\"unauthorized\",\"message\":\"unknown api key\"}}");
		goto done;
	}
	suffix = runs ? strchr(runs + 6, '/') : NULL;
	if (!runs && strstr(uri, "/artifacts/") && strcmp(ri->request_method, "GET") == 0) {
		artifact_get(c, uri);
	} else if (!runs) {
		reply(c, 404, "{\"error\":{\"code\":\"not_found\",\"message\":\"no route\"}}");
	} else if (!suffix && strcmp(ri->request_method, "GET") == 0) {
		F.gets++;
		if (!F.exists)
			reply(c, 404, "{\"error\":{\"code\":\"not_found\",\"message\":\"no such run\"}}");
		else
			reply_run(c, 200, 0);
	} else if (!suffix && strcmp(ri->request_method, "PUT") == 0) {
		int created = !F.exists;
		cJSON *j = cJSON_ParseWithLength((char *)body, len);
		assert_non_null(j);
		cJSON_Delete(j);
		F.puts++;
		F.exists = 1;
		snprintf(F.state, sizeof F.state, "running");
		reply_run(c, created ? 201 : 200, F.put_claims_extra);
	} else if (suffix && strcmp(suffix, "/records") == 0) {
		F.posts++;
		if (!F.exists)
			reply(c, 404, "{\"error\":{\"code\":\"not_found\",\"message\":\"no such run\"}}");
		else
			post_records(c, body, len);
	} else if (suffix && strcmp(suffix, "/heartbeat") == 0) {
		F.heartbeats++;
		reply(c, 200, "{\"state\":\"running\"}");
	} else if (suffix && strcmp(suffix, "/finish") == 0) {
		cJSON *j = cJSON_ParseWithLength((char *)body, len);
		F.finishes++;
		if (j && cJSON_IsTrue(cJSON_GetObjectItem(j, "crashed")))
			snprintf(F.state, sizeof F.state, "crashed");
		cJSON_Delete(j);
		reply(c, 200, "{}");
	} else {
		reply(c, 404, "{\"error\":{\"code\":\"not_found\",\"message\":\"no route\"}}");
	}
done:
	pthread_mutex_unlock(&F.mu);
	free(body);
	return 200;
}

static int quiet_log(const struct mg_connection *c, const char *msg)
{
	(void)c;
	(void)msg;
	return 1;
}

/* One fake server for the whole group (civetweb's mg_stop takes seconds). */
static int group_setup(void **state)
{
	const char *opts[] = {"listening_ports", "127.0.0.1:0", "num_threads", "4", "enable_keep_alive", "yes", NULL};
	struct mg_callbacks cb = {0};
	struct mg_server_port port;

	(void)state;
	mg_init_library(0);
	pthread_mutex_init(&F.mu, NULL);
	cb.log_message = quiet_log;
	F.ctx = mg_start(&cb, NULL, opts);
	if (!F.ctx || mg_get_server_ports(F.ctx, 1, &port) != 1)
		return -1;
	mg_set_request_handler(F.ctx, "/api/v1/projects", handler, NULL);
	F.port = port.port;
	snprintf(F.url, sizeof F.url, "http://127.0.0.1:%d", F.port);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	mg_stop(F.ctx);
	pthread_mutex_destroy(&F.mu);
	return 0;
}

/* A fresh directory and a fake that has never heard of the run. */
static int setup(void **state)
{
	(void)state;
	wbt_setup(dir, sizeof dir);
	pthread_mutex_lock(&F.mu);
	F.key = NULL;
	F.exists = 0;
	F.last_seq = 0;
	F.last_step = -1;
	snprintf(F.state, sizeof F.state, "none");
	F.exit_code = 0;
	F.puts = F.gets = F.posts = F.heartbeats = F.finishes = F.unauthorized = F.gaps = 0;
	F.fail_posts = F.lose_acks = 0;
	F.put_claims_extra = 0;
	F.gzip_posts = 0;
	F.napplied = 0;
	F.metrics_points = 0;
	F.art_busy = F.art_gets = 0;
	F.art_file = ART_FILE;
	pthread_mutex_unlock(&F.mu);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	wbt_rm_rf(dir);
	return 0;
}

static wb_run *open_run(wb_mode mode, const char *key, const char *run_id, unsigned finish_ms)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;

	o.mode = mode;
	o.dir = dir;
	o.base_url = F.url;
	o.api_key = key;
	o.entity = "e"; /* the fake has no accounts to name the key's owner */
	o.run_id = run_id;
	o.finish_timeout_ms = finish_ms;
	o.heartbeat_ms = 100;
	assert_int_equal(wb_init(&run, &o), WB_OK);
	return run;
}

/* The fake applied seqs first..last exactly once, in order. */
static void assert_applied(uint64_t first, uint64_t last)
{
	pthread_mutex_lock(&F.mu);
	assert_int_equal(F.napplied, last - first + 1);
	for (size_t i = 0; i < F.napplied; i++)
		assert_int_equal(F.applied[i], first + i);
	pthread_mutex_unlock(&F.mu);
}

static uint64_t log_last_seq(const char *run_dir)
{
	char p[600];
	wbt_log log;
	uint64_t last;

	snprintf(p, sizeof p, "%s/" WB__RUNLOG_FILE, run_dir);
	wbt_log_load(&log, p);
	last = log.n ? log.frames[log.n - 1].seq : 0;
	wbt_log_free(&log);
	return last;
}

static void log_some(wb_run *run, int n)
{
	for (int i = 0; i < n; i++)
		assert_int_equal(WB_LOG(run, WB_STEP_AUTO, {"loss", 1.0 / (i + 1)}, {"acc", (double)i / n}), WB_OK);
}

static void test_sync__online(void **state)
{
	wb_run *run;
	char rdir[600];
	uint64_t last;

	(void)state;
	F.key = "k-123";
	run = open_run(WB_MODE_ONLINE, "k-123", NULL, 20000);
	snprintf(rdir, sizeof rdir, "%s", wb_run_dir(run));
	assert_int_equal(wb_config_set_int(run, "epochs", 3), WB_OK);
	log_some(run, 5000);
	assert_int_equal(wb_finish(run, 0), WB_OK);
	last = log_last_seq(rdir);
	assert_int_equal(last, 5003); /* RUN, CONFIG, 5000 METRICS, FINISH */
	assert_applied(1, last);
	assert_int_equal(F.metrics_points, 10000);
	assert_string_equal(F.state, "finished");
	assert_true(F.gzip_posts > 0);
	assert_int_equal(F.unauthorized, 0);
	{
		char p[700];
		size_t len;
		uint8_t *acked;
		snprintf(p, sizeof p, "%s/acked", rdir);
		acked = wbt_read_file(p, &len);
		assert_int_equal(strtoull((char *)acked, NULL, 10), last);
		free(acked);
	}
}

/* 503s and lost acks: the uploader retries the same batch; nothing is
 * applied twice and nothing is missing. */
static void test_sync__retries_exactly_once(void **state)
{
	wb_run *run;
	char rdir[600];

	(void)state;
	F.fail_posts = 3;
	F.lose_acks = 2;
	run = open_run(WB_MODE_ONLINE, NULL, NULL, 30000);
	snprintf(rdir, sizeof rdir, "%s", wb_run_dir(run));
	log_some(run, 2000);
	assert_int_equal(wb_finish(run, 0), WB_OK);
	assert_applied(1, log_last_seq(rdir));
	assert_int_equal(F.fail_posts, 0);
	assert_int_equal(F.lose_acks, 0);
}

/* The server claims more than it has: the first POST gets 409
 * sequence_gap and the uploader restarts where the server says. */
static void test_sync__sequence_gap(void **state)
{
	wb_run *run;
	char rdir[600];

	(void)state;
	F.put_claims_extra = 3;
	run = open_run(WB_MODE_ONLINE, NULL, NULL, 20000);
	snprintf(rdir, sizeof rdir, "%s", wb_run_dir(run));
	log_some(run, 10);
	assert_int_equal(wb_finish(run, 0), WB_OK);
	assert_true(F.gaps >= 1);
	assert_applied(1, log_last_seq(rdir));
}

static void test_sync__heartbeat(void **state)
{
	wb_run *run = open_run(WB_MODE_ONLINE, NULL, NULL, 5000);
	double t0 = wbt_now_ms();
	int beats = 0;

	(void)state;
	while (wbt_now_ms() - t0 < 5000) {
		pthread_mutex_lock(&F.mu);
		beats = F.heartbeats;
		pthread_mutex_unlock(&F.mu);
		if (beats >= 2)
			break;
		usleep(10000);
	}
	assert_true(beats >= 2);
	assert_int_equal(wb_finish(run, 0), WB_OK);
}

/* A wrong key stops the uploader at once: wb_finish says so without
 * waiting for its timeout, and the data stays on disk. */
static void test_sync__unauthorized(void **state)
{
	wb_run *run;
	double t0;
	char rdir[600];
	wb_sync_options so = WB_SYNC_OPTIONS_INIT;

	(void)state;
	F.key = "right";
	run = open_run(WB_MODE_ONLINE, "wrong", NULL, 20000);
	snprintf(rdir, sizeof rdir, "%s", wb_run_dir(run));
	log_some(run, 10);
	t0 = wbt_now_ms();
	assert_int_equal(wb_finish(run, 0), WB_EAUTH);
	assert_true(wbt_now_ms() - t0 < 5000);
	assert_true(F.unauthorized >= 1);
	assert_int_equal(F.napplied, 0);
	assert_null(strstr(wb_errmsg(), "wrong")); /* the key is never in a message */

	so.base_url = F.url;
	so.api_key = "wrong";
	assert_int_equal(wb_sync(rdir, &so, NULL), WB_EAUTH);
	so.api_key = "right";
	assert_int_equal(wb_sync(rdir, &so, NULL), WB_OK);
	assert_applied(1, log_last_seq(rdir));
}

/* Offline, then wb_sync: everything once; a second sync sends nothing and
 * does not touch the run. */
static void test_sync__offline_then_sync(void **state)
{
	wb_run *run = open_run(WB_MODE_OFFLINE, NULL, NULL, 0);
	wb_sync_options so = WB_SYNC_OPTIONS_INIT;
	char rdir[600];
	uint64_t sent = 99, last;
	int puts;

	(void)state;
	snprintf(rdir, sizeof rdir, "%s", wb_run_dir(run));
	log_some(run, 300);
	assert_int_equal(wb_finish(run, 0), WB_OK);
	assert_int_equal(F.puts + F.posts, 0); /* offline: no network */
	last = log_last_seq(rdir);

	/* base_url from the environment this time. */
	setenv("WB_BASE_URL", F.url, 1);
	assert_int_equal(wb_sync(rdir, &so, &sent), WB_OK);
	unsetenv("WB_BASE_URL");
	assert_int_equal(sent, last);
	assert_applied(1, last);
	assert_string_equal(F.state, "finished");
	assert_int_equal(F.finishes, 0); /* the FINISH record did it */

	puts = F.puts;
	so.base_url = F.url;
	assert_int_equal(wb_sync(rdir, &so, &sent), WB_OK);
	assert_int_equal(sent, 0);
	assert_int_equal(F.puts, puts);
	assert_string_equal(F.state, "finished");
	assert_applied(1, last);
}

/* The server already has the first records: sync sends the rest. */
static void test_sync__partial(void **state)
{
	wb_run *run = open_run(WB_MODE_OFFLINE, NULL, NULL, 0);
	wb_sync_options so = WB_SYNC_OPTIONS_INIT;
	char rdir[600];
	uint64_t sent, last;

	(void)state;
	snprintf(rdir, sizeof rdir, "%s", wb_run_dir(run));
	log_some(run, 20);
	assert_int_equal(wb_finish(run, 0), WB_OK);
	last = log_last_seq(rdir);
	F.exists = 1;
	F.last_seq = 5;
	so.base_url = F.url;
	assert_int_equal(wb_sync(rdir, &so, &sent), WB_OK);
	assert_int_equal(sent, last - 5);
	assert_applied(6, last);
}

static void find_run_dir(char *out, size_t cap)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	assert_non_null(d);
	out[0] = '\0';
	while ((e = readdir(d)))
		if (strncmp(e->d_name, "run-", 4) == 0)
			snprintf(out, cap, "%s/%s", dir, e->d_name);
	closedir(d);
	assert_true(out[0] != '\0');
}

/* A trainer that dies without wb_finish: its lock is free, its log has no
 * FINISH, so sync uploads everything written and marks the run crashed. */
static void test_sync__crashed_trainer(void **state)
{
	wb_sync_options so = WB_SYNC_OPTIONS_INIT;
	char rdir[600];
	uint64_t sent;
	pid_t pid;
	int status;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		wb_init_options o = WB_INIT_OPTIONS_INIT;
		wb_run *run = NULL;
		o.mode = WB_MODE_OFFLINE;
		o.dir = dir;
		if (wb_init(&run, &o) != WB_OK)
			_exit(1);
		for (int i = 0; i < 50; i++)
			WB_LOG(run, WB_STEP_AUTO, {"loss", (double)i});
		/* Let the writer reach the log, then die without finishing. */
		for (int i = 0; i < 200 && log_last_seq(wb_run_dir(run)) < 51; i++)
			usleep(10000);
		_exit(log_last_seq(wb_run_dir(run)) == 51 ? 0 : 2);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	find_run_dir(rdir, sizeof rdir);
	so.base_url = F.url;
	assert_int_equal(wb_sync(rdir, &so, &sent), WB_OK);
	assert_int_equal(sent, 51);
	assert_applied(1, 51);
	assert_int_equal(F.finishes, 1);
	assert_string_equal(F.state, "crashed");
	/* Again: nothing to send; still crashed. */
	assert_int_equal(wb_sync(rdir, &so, &sent), WB_OK);
	assert_int_equal(sent, 0);
	assert_string_equal(F.state, "crashed");
}

/* A live run (its lock held) is uploaded but not marked crashed. */
static void test_sync__live_run_not_crashed(void **state)
{
	wb_run *run = open_run(WB_MODE_OFFLINE, NULL, NULL, 0);
	wb_sync_options so = WB_SYNC_OPTIONS_INIT;
	char rdir[600];
	uint64_t sent;

	(void)state;
	snprintf(rdir, sizeof rdir, "%s", wb_run_dir(run));
	log_some(run, 5);
	so.base_url = F.url;
	assert_int_equal(wb_sync(rdir, &so, &sent), WB_OK);
	assert_int_equal(F.finishes, 0);
	assert_string_equal(F.state, "running");
	assert_int_equal(wb_finish(run, 0), WB_OK);
	assert_int_equal(wb_sync(rdir, &so, &sent), WB_OK);
	assert_string_equal(F.state, "finished");
	assert_applied(1, log_last_seq(rdir));
}

/* Resuming a run that is only on the server: the local log starts after
 * the server's last seq, and steps continue from its last step. */
static void test_sync__resume_remote(void **state)
{
	wb_run *run;
	char rdir[600], p[700];
	wbt_log log;

	(void)state;
	F.exists = 1;
	F.last_seq = 7;
	F.last_step = 41;
	run = open_run(WB_MODE_ONLINE, NULL, "remote1", 20000);
	assert_string_equal(wb_run_name(run), "srv-name");
	assert_int_equal(wb_run_step(run), 41);
	assert_int_equal(WB_LOG(run, WB_STEP_AUTO, {"loss", 0.5}), WB_OK);
	assert_int_equal(wb_run_step(run), 42);
	snprintf(rdir, sizeof rdir, "%s", wb_run_dir(run));
	assert_int_equal(wb_finish(run, 0), WB_OK);
	snprintf(p, sizeof p, "%s/" WB__RUNLOG_FILE, rdir);
	wbt_log_load(&log, p);
	assert_int_equal(log.frames[0].seq, 8);
	assert_int_equal(log.n, 3); /* RUN, METRICS, FINISH */
	wbt_log_free(&log);
	assert_applied(8, 10);
	assert_int_equal(F.last_step, 42);
}

static void test_sync__not_found(void **state)
{
	char p[600];
	uint64_t sent = 5;

	(void)state;
	assert_int_equal(wb_sync("/nonexistent/run-x", NULL, &sent), WB_ENOTFOUND);
	assert_int_equal(sent, 0);
	snprintf(p, sizeof p, "%s/config", dir);
	assert_int_equal(wb_sync(p, NULL, NULL), WB_ENOTFOUND);
	assert_int_equal(wb_sync(NULL, NULL, NULL), WB_EINVAL);
}

/* An artifact download waits as long as the server's Retry-After says
 * (1 s, ten times the first backoff step) before it asks again, then
 * streams the file to disk and checks it. */
static void test_sync__artifact_retry_after(void **state)
{
	wb_artifact_options o = WB_ARTIFACT_OPTIONS_INIT;
	char out[600], p[700];
	uint8_t *got;
	size_t len;
	int64_t v = -1;
	double t0;

	(void)state;
	F.art_busy = 1;
	o.base_url = F.url;
	o.entity = "e";
	o.project = "p";
	snprintf(out, sizeof out, "%s/out", dir);
	t0 = wbt_now_ms();
	assert_int_equal(wb_artifact_download(&o, "model", out, &v), WB_OK);
	assert_true(wbt_now_ms() - t0 >= 1000);
	assert_int_equal(v, 3);
	assert_int_equal(F.art_gets, 3); /* 429, the version, the file */
	snprintf(p, sizeof p, "%s/a.txt", out);
	got = wbt_read_file(p, &len);
	assert_int_equal(len, 5);
	assert_memory_equal(got, ART_FILE, 5);
	free(got);
}

/* A file that arrives longer than the version says is stopped as it
 * streams in: WB_ECORRUPT, and nothing is left in the directory. */
static void test_sync__artifact_download_too_long(void **state)
{
	wb_artifact_options o = WB_ARTIFACT_OPTIONS_INIT;
	char out[600];
	int64_t v = -1;
	DIR *d;
	struct dirent *de;
	int files = 0;

	(void)state;
	F.art_file = ART_FILE " and more";
	o.base_url = F.url;
	o.entity = "e";
	o.project = "p";
	snprintf(out, sizeof out, "%s/out", dir);
	assert_int_equal(wb_artifact_download(&o, "model", out, &v), WB_ECORRUPT);
	assert_int_equal(F.art_gets, 2); /* not retried: the content is wrong, not the network */
	assert_non_null(d = opendir(out));
	while ((de = readdir(d)))
		files += de->d_name[0] != '.';
	closedir(d);
	assert_int_equal(files, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sync__online, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync__retries_exactly_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync__sequence_gap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync__heartbeat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync__unauthorized, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync__offline_then_sync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync__partial, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync__crashed_trainer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync__live_run_not_crashed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync__resume_remote, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync__not_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync__artifact_retry_after, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync__artifact_download_too_long, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
