/*
 * End-to-end notifications: a real `wb server` delivers Slack-format
 * webhooks to a real HTTP receiver on loopback (receiver.c) for runs that
 * finish, fail and crash (the crash sweep), alerts from wb_alert (rate
 * limited per title), threshold rules (a summary rule on ingest, a stall
 * rule from the notifier), a 429 with Retry-After, a receiver that is down
 * (and a server restart) before it comes up, and checks that the webhook
 * URL never appears in an API answer or the server log. Proxies: one in the
 * server's environment is ignored (the delivery goes straight to the
 * webhook, never to the proxy), one given with --webhook-proxy is used.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "receiver.h"
#include "series.h"
#include "wb.h"

#define SECRET "xq7SECRETtoken9"

static wbt_server srv;
static wbt_rx rx;
static char rundir_root[256];

static int setup(void **state)
{
	(void)state;
	if (wbt_server_start(&srv, "--crash-after 2 --notify-backoff 0.3 --webhook-private yes") < 0)
		return -1;
	if (wbt_runs_dir(rundir_root, sizeof(rundir_root), "runs") < 0)
		return -1;
	setenv("WB_HEARTBEAT_MS", "200", 1);
	setenv("WB_DISABLE_GIT", "1", 1);
	setenv("WB_SYSTEM_SAMPLE_MS", "-1", 1);
	return wbt_rx_start(&rx, 0);
}

static int teardown(void **state)
{
	(void)state;
	wbt_rx_free(&rx);
	return wbt_tmp_done(&srv, rundir_root);
}

/* POST a JSON body with the admin key; returns the status, *out the parsed answer (may be NULL). */
static long post_json(const char *path, const char *body, cJSON **out)
{
	const char *h[] = {"Content-Type: application/json", NULL};
	wbt_response r;
	long st;

	if (out)
		*out = NULL;
	if (wbt_http(&srv, "POST", path, body, strlen(body), h, 1, &r))
		return -1;
	st = r.status;
	assert_null(strstr(r.body, SECRET)); /* never echoed, not even in an error */
	if (out)
		*out = cJSON_Parse(r.body);
	wbt_response_free(&r);
	return st;
}

/* Add a webhook for project to the receiver under /hook/<tag>/SECRET. Returns its id. */
static int64_t add_webhook(const char *project, const char *tag, const char *events)
{
	char path[256], body[512];
	cJSON *j = NULL;
	int64_t id;

	snprintf(path, sizeof(path), "/api/v1/projects/tester/%s/webhooks", project);
	snprintf(body, sizeof(body), "{\"url\":\"http://127.0.0.1:%d/hook/%s/" SECRET "\"%s%s}", rx.port, tag,
		 events ? ",\"events\":" : "", events ? events : "");
	assert_int_equal(post_json(path, body, &j), 201);
	assert_non_null(j);
	id = (int64_t)cJSON_GetObjectItem(j, "id")->valuedouble;
	/* the hint shows the host and the last 4 characters only */
	snprintf(body, sizeof(body), "127.0.0.1:%d…ken9", rx.port);
	assert_string_equal(cJSON_GetObjectItem(j, "hint")->valuestring, body);
	assert_null(cJSON_GetObjectItem(j, "url"));
	cJSON_Delete(j);
	return id;
}

static wb_run *start_run(const char *project)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;
	o.project = project;
	o.entity = "tester";
	o.mode = WB_MODE_ONLINE;
	assert_int_equal(wb_init(&run, &o), WB_OK);
	return run;
}

/* The i-th message for tag, parsed and checked to be Slack-shaped. */
static cJSON *message(const char *tag, size_t i, double *at)
{
	char prefix[128];
	char *b;
	cJSON *j, *blocks;

	snprintf(prefix, sizeof(prefix), "/hook/%s/", tag);
	b = wbt_rx_body(&rx, prefix, i, at);
	assert_non_null(b);
	j = cJSON_Parse(b);
	free(b);
	assert_non_null(j);
	assert_true(cJSON_IsString(cJSON_GetObjectItem(j, "text")));
	blocks = cJSON_GetObjectItem(j, "blocks");
	assert_true(cJSON_IsArray(blocks) && cJSON_GetArraySize(blocks) >= 2);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(blocks, 0), "type")->valuestring, "section");
	return j;
}

static char *dump(const cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);
	assert_non_null(s);
	return s;
}

static void expect_run_message(const char *tag, size_t i, const char *project, const char *id, const char *name,
			       const char *what)
{
	char url[512];
	cJSON *j = message(tag, i, NULL);
	char *s = dump(j);

	snprintf(url, sizeof(url), "%s/tester/%s/runs/%s", srv.url, project, id);
	assert_non_null(strstr(cJSON_GetObjectItem(j, "text")->valuestring, url));
	assert_non_null(strstr(cJSON_GetObjectItem(j, "text")->valuestring, name));
	assert_non_null(strstr(cJSON_GetObjectItem(j, "text")->valuestring, what));
	assert_non_null(strstr(s, url)); /* the link in the blocks */
	free(s);
	cJSON_Delete(j);
}

static void test_e2e_notify__finished_failed_crashed(void **state)
{
	wb_run *a, *b;
	char ida[64], idb[64], namea[128], nameb[128];
	wbt_response r;
	cJSON *j;
	char *s;

	(void)state;
	add_webhook("ev", "ev", NULL);
	a = start_run("ev");
	snprintf(ida, sizeof(ida), "%s", wb_run_id(a));
	snprintf(namea, sizeof(namea), "%s", wb_run_name(a));
	assert_int_equal(WB_LOG(a, WB_STEP_AUTO, {"val/loss", 0.25}, {"acc", 0.5}), WB_OK);
	assert_int_equal(wb_finish(a, 0), WB_OK);
	assert_int_equal(wbt_rx_wait(&rx, "/hook/ev/", 1, 20), 0);
	expect_run_message("ev", 0, "ev", ida, namea, "finished");
	/* the key metrics are in the blocks */
	j = message("ev", 0, NULL);
	s = dump(j);
	assert_non_null(strstr(s, "val/loss*\\n0.25"));
	free(s);
	cJSON_Delete(j);

	b = start_run("ev");
	snprintf(idb, sizeof(idb), "%s", wb_run_id(b));
	snprintf(nameb, sizeof(nameb), "%s", wb_run_name(b));
	assert_int_equal(wb_finish(b, 3), WB_OK);
	assert_int_equal(wbt_rx_wait(&rx, "/hook/ev/", 2, 20), 0);
	expect_run_message("ev", 1, "ev", idb, nameb, "failed (exit code 3)");

	/* a run that stops sending heartbeats is crashed by the sweep */
	assert_int_equal(wbt_http(&srv, "PUT", "/api/v1/projects/tester/ev/runs/silent1",
				  "{\"name\":\"<!channel> & co\"}", strlen("{\"name\":\"<!channel> & co\"}"), (const char *[]){"Content-Type: application/json", NULL},
				  1, &r), 0);
	assert_true(r.status == 200 || r.status == 201);
	wbt_response_free(&r);
	assert_int_equal(wbt_rx_wait(&rx, "/hook/ev/", 3, 20), 0);
	expect_run_message("ev", 2, "ev", "silent1", "&lt;!channel&gt; &amp; co", "crashed");
	assert_int_equal(wbt_rx_count(&rx, "/hook/ev/"), 3);
}

static void test_e2e_notify__alert_rate_limited(void **state)
{
	wb_run *run;
	cJSON *j;
	char *s;

	(void)state;
	add_webhook("al", "al", "[\"alert\"]");
	run = start_run("al");
	assert_int_equal(wb_alert_interval_set(run, 3600), WB_OK);
	for (int i = 0; i < 5; i++)
		assert_int_equal(wb_alert(run, WB_ALERT_WARN, "loss spike", "loss went <up> & up"), WB_OK);
	assert_int_equal(wb_alert(run, WB_ALERT_ERROR, "nan loss", NULL), WB_OK);
	assert_int_equal(wb_alert(run, (wb_alert_level)7, "bad", NULL), WB_EINVAL);
	assert_int_equal(wb_alert(run, WB_ALERT_INFO, "", NULL), WB_EINVAL);
	assert_int_equal(wb_run_alerts_suppressed(run), 4);
	assert_int_equal(wb_finish(run, 0), WB_OK); /* finished is not subscribed */
	assert_int_equal(wbt_rx_wait(&rx, "/hook/al/", 2, 20), 0);
	j = message("al", 0, NULL);
	s = dump(j);
	assert_non_null(strstr(s, ":warning: *loss spike*"));
	assert_non_null(strstr(s, "loss went &lt;up&gt; &amp; up"));
	free(s);
	cJSON_Delete(j);
	j = message("al", 1, NULL);
	s = dump(j);
	assert_non_null(strstr(s, ":red_circle: *nan loss*"));
	free(s);
	cJSON_Delete(j);
	/* nothing else arrives: the finish and the suppressed alerts are not sent */
	{
		cJSON *d = NULL;
		double until = wbt_now() + 1.5;
		while (wbt_now() < until) {
			cJSON_Delete(d);
			d = wbt_get_json(&srv, "/api/v1/projects/tester/al/deliveries");
			assert_non_null(d);
			assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(d, "deliveries")), 2);
			usleep(100000);
		}
		cJSON_Delete(d);
	}
	assert_int_equal(wbt_rx_count(&rx, "/hook/al/"), 2);
}

static void test_e2e_notify__threshold_rules(void **state)
{
	wb_run *run;
	cJSON *j, *rules;
	char *s;

	(void)state;
	add_webhook("ru", "ru", "[\"rule\"]");
	assert_int_equal(post_json("/api/v1/projects/tester/ru/rules", "{\"rule\":\"summary val/loss > 2\"}", &j), 201);
	assert_string_equal(cJSON_GetObjectItem(j, "rule")->valuestring, "summary val/loss > 2");
	cJSON_Delete(j);
	assert_int_equal(post_json("/api/v1/projects/tester/ru/rules", "{\"rule\":\"no step for 1s\"}", NULL), 201);
	assert_int_equal(post_json("/api/v1/projects/tester/ru/rules", "{\"rule\":\"summary val/loss >> 2\"}", NULL), 400);
	assert_int_equal(post_json("/api/v1/projects/tester/ru/rules", "{\"rule\":\"no step for -1 min\"}", NULL), 400);

	run = start_run("ru");
	assert_int_equal(WB_LOG(run, WB_STEP_AUTO, {"val/loss", 1.0}), WB_OK);
	assert_int_equal(WB_LOG(run, WB_STEP_AUTO, {"val/loss", 3.0}), WB_OK);
	assert_int_equal(wbt_rx_wait(&rx, "/hook/ru/", 1, 20), 0);
	assert_int_equal(WB_LOG(run, WB_STEP_AUTO, {"val/loss", 5.0}), WB_OK);
	/* then the run stays silent (heartbeats only) past 1 s: the stall rule fires */
	assert_int_equal(wbt_rx_wait(&rx, "/hook/ru/", 2, 20), 0);
	assert_int_equal(wb_finish(run, 0), WB_OK);
	/* one message per rule, in whichever order they fired (load can delay the first upload past 1 s) */
	{
		int summary = 0, stall = 0;
		for (size_t i = 0; i < 2; i++) {
			j = message("ru", i, NULL);
			s = dump(j);
			if (strstr(s, "summary val/loss &gt; 2")) { /* mrkdwn-escaped */
				summary++;
				assert_true(strstr(s, "value: 3") || strstr(s, "value: 5"));
			}
			if (strstr(s, "no step for 1 s"))
				stall++;
			free(s);
			cJSON_Delete(j);
		}
		assert_int_equal(summary, 1);
		assert_int_equal(stall, 1);
	}
	/* each rule fired once for the run, whatever came after */
	j = wbt_get_json(&srv, "/api/v1/projects/tester/ru/rules");
	assert_non_null(j);
	rules = cJSON_GetObjectItem(j, "rules");
	assert_int_equal(cJSON_GetArraySize(rules), 2);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(rules, 0), "fired")->valueint, 1);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(rules, 1), "fired")->valueint, 1);
	cJSON_Delete(j);
	assert_int_equal(wbt_rx_count(&rx, "/hook/ru/"), 2);
	/* /metrics counts both firings, the summary rule's as well as the stall rule's */
	{
		wbt_response r;
		const char *m;
		assert_int_equal(wbt_http(&srv, "GET", "/metrics", NULL, 0, NULL, 1, &r), 0);
		m = strstr(r.body, "\nwb_notify_rule_fires_total ");
		assert_non_null(m);
		assert_true(strtoull(m + strlen("\nwb_notify_rule_fires_total "), NULL, 10) >= 2);
		wbt_response_free(&r);
	}
}

/* An alert as long as wb_alert allows, and text that grows when escaped for
 * mrkdwn, reaches the receiver whole and within Block Kit's limits (a
 * section's text at most 3,000 characters, at most 50 blocks): Slack
 * refuses a message past them with invalid_blocks. */
static void test_e2e_notify__alert_within_block_kit_limits(void **state)
{
	char title[201], text[3001], *want, *got;
	size_t wl = 0, gl = 0;
	wb_run *run;
	cJSON *j, *b;

	(void)state;
	memset(title, '<', 200);
	title[200] = '\0';
	for (int i = 0; i < 3000; i++)
		text[i] = "&<>x\n"[i % 5];
	text[3000] = '\0';
	add_webhook("bk", "bk", "[\"alert\"]");
	run = start_run("bk");
	assert_int_equal(wb_alert(run, WB_ALERT_WARN, title, text), WB_OK);
	assert_int_equal(wb_finish(run, 0), WB_OK);
	assert_int_equal(wbt_rx_wait(&rx, "/hook/bk/", 1, 20), 0);
	j = message("bk", 0, NULL);
	assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(j, "blocks")) <= 50);
	want = malloc(5 * 3000 + 1);
	got = malloc(5 * 3000 + 1);
	assert_true(want && got);
	for (int i = 0; i < 3000; i++) {
		const char *e = text[i] == '&' ? "&amp;" : text[i] == '<' ? "&lt;" : text[i] == '>' ? "&gt;" : NULL;
		if (e) {
			memcpy(want + wl, e, strlen(e));
			wl += strlen(e);
		} else {
			want[wl++] = text[i];
		}
	}
	cJSON_ArrayForEach(b, cJSON_GetObjectItem(j, "blocks"))
	{
		const cJSON *t = cJSON_GetObjectItem(cJSON_GetObjectItem(b, "text"), "text"), *f;
		if (t) {
			assert_true(strlen(t->valuestring) <= 3000);
			if (b != cJSON_GetArrayItem(cJSON_GetObjectItem(j, "blocks"), 0) &&
			    strcmp(cJSON_GetObjectItem(b, "type")->valuestring, "section") == 0) {
				memcpy(got + gl, t->valuestring, strlen(t->valuestring));
				gl += strlen(t->valuestring);
			}
		}
		cJSON_ArrayForEach(f, cJSON_GetObjectItem(b, "fields"))
			assert_true(strlen(cJSON_GetObjectItem(f, "text")->valuestring) <= 2000);
		cJSON_ArrayForEach(f, cJSON_GetObjectItem(b, "elements"))
			assert_true(strlen(cJSON_GetObjectItem(f, "text")->valuestring) <= 3000);
	}
	/* the escaped text, whole, across the sections after the headline */
	assert_int_equal(gl, wl);
	assert_memory_equal(got, want, wl);
	free(want);
	free(got);
	cJSON_Delete(j);
}

/* The newest delivery of project, as an object (caller frees the root *root). */
static cJSON *last_delivery(const char *project, cJSON **root)
{
	char path[256];
	snprintf(path, sizeof(path), "/api/v1/projects/tester/%s/deliveries", project);
	*root = wbt_get_json(&srv, path);
	assert_non_null(*root);
	return cJSON_GetArrayItem(cJSON_GetObjectItem(*root, "deliveries"), 0);
}

static void test_e2e_notify__429_retry_after(void **state)
{
	wb_run *run;
	double t0, t1;
	cJSON *root, *d;

	(void)state;
	add_webhook("rl", "rl", NULL);
	pthread_mutex_lock(&rx.mu);
	rx.script_i = 0;
	rx.script[0] = 429;
	rx.script[1] = 0;
	rx.retry_after = 2;
	pthread_mutex_unlock(&rx.mu);
	run = start_run("rl");
	assert_int_equal(wb_finish(run, 0), WB_OK);
	assert_int_equal(wbt_rx_wait(&rx, "/hook/rl/", 2, 30), 0);
	free(wbt_rx_body(&rx, "/hook/rl/", 0, &t0));
	free(wbt_rx_body(&rx, "/hook/rl/", 1, &t1));
	/* the backoff is 0.3 s: only Retry-After explains a 2 s wait */
	assert_true(t1 - t0 >= 1.9);
	/* the log says delivered, at the second attempt */
	{
		double until = wbt_now() + 10;
		for (;;) {
			d = last_delivery("rl", &root);
			if (strcmp(cJSON_GetObjectItem(d, "state")->valuestring, "delivered") == 0 || wbt_now() > until)
				break;
			cJSON_Delete(root);
			usleep(50000);
		}
	}
	assert_string_equal(cJSON_GetObjectItem(d, "state")->valuestring, "delivered");
	assert_int_equal(cJSON_GetObjectItem(d, "attempts")->valueint, 2);
	{
		/* the log names the run as its page does */
		char path[300];
		cJSON *r;
		snprintf(path, sizeof(path), "/api/v1/projects/tester/rl/runs/%s",
			 cJSON_GetObjectItem(d, "run_id")->valuestring);
		r = wbt_get_json(&srv, path);
		assert_non_null(r);
		assert_true(cJSON_IsString(cJSON_GetObjectItem(r, "name")));
		assert_true(cJSON_Compare(cJSON_GetObjectItem(d, "run_name"), cJSON_GetObjectItem(r, "name"), 1));
		cJSON_Delete(r);
	}
	assert_int_equal(cJSON_GetObjectItem(d, "http_status")->valueint, 200);
	cJSON_Delete(root);
}

static void test_e2e_notify__receiver_down_then_up_across_restart(void **state)
{
	wbt_rx down;
	wb_run *run;
	cJSON *root, *d;
	char body[512];
	int port;

	(void)state;
	memset(&down, 0, sizeof(down));
	assert_int_equal(wbt_rx_start(&down, 0), 0);
	port = down.port;
	wbt_rx_down(&down); /* the port now refuses connections */
	snprintf(body, sizeof(body), "{\"url\":\"http://127.0.0.1:%d/hook/dn/" SECRET "\"}", port);
	assert_int_equal(post_json("/api/v1/projects/tester/dn/webhooks", body, NULL), 201);
	run = start_run("dn");
	assert_int_equal(wb_finish(run, 0), WB_OK);
	/* retried with backoff while down */
	{
		double until = wbt_now() + 20;
		for (;;) {
			d = last_delivery("dn", &root);
			if ((d && cJSON_GetObjectItem(d, "attempts")->valueint >= 2) || wbt_now() > until)
				break;
			cJSON_Delete(root);
			usleep(50000);
		}
	}
	assert_non_null(d);
	assert_string_equal(cJSON_GetObjectItem(d, "state")->valuestring, "pending");
	assert_true(cJSON_GetObjectItem(d, "attempts")->valueint >= 2);
	assert_true(cJSON_IsString(cJSON_GetObjectItem(d, "error")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(d, "http_status")));
	cJSON_Delete(root);
	/* the queue is in the database: it survives a killed server */
	wbt_server_kill(&srv);
	assert_int_equal(wbt_server_restart(&srv), 0);
	assert_int_equal(wbt_rx_start(&down, port), 0);
	assert_int_equal(wbt_rx_wait(&down, "/hook/dn/", 1, 30), 0);
	{
		double until = wbt_now() + 10;
		for (;;) {
			d = last_delivery("dn", &root);
			if (strcmp(cJSON_GetObjectItem(d, "state")->valuestring, "delivered") == 0 || wbt_now() > until)
				break;
			cJSON_Delete(root);
			usleep(50000);
		}
	}
	assert_string_equal(cJSON_GetObjectItem(d, "state")->valuestring, "delivered");
	cJSON_Delete(root);
	assert_int_equal(wbt_rx_count(&down, "/hook/dn/"), 1);
	wbt_rx_free(&down);
}

static void test_e2e_notify__bad_input_and_delete(void **state)
{
	cJSON *j;
	char path[128];
	wbt_response r;
	int64_t id;

	(void)state;
	assert_int_equal(post_json("/api/v1/projects/tester/bad/webhooks", "{\"url\":\"ftp://h/" SECRET "\"}", NULL), 400);
	assert_int_equal(post_json("/api/v1/projects/tester/bad/webhooks", "{\"url\":\"http://u:p@h/" SECRET "\"}", NULL),
			 400);
	assert_int_equal(post_json("/api/v1/projects/tester/bad/webhooks",
				   "{\"url\":\"http://h/" SECRET "\",\"events\":[\"bogus\"]}", NULL),
			 400);
	assert_int_equal(post_json("/api/v1/projects/tester/bad/webhooks", "{\"url\":\"http://h/x\",\"extra\":1}", NULL),
			 400);
	assert_int_equal(post_json("/api/v1/projects/tester/bad/webhooks", "[1]", NULL), 400);
	assert_int_equal(post_json("/api/v1/projects/tester/bad/rules", "{\"rule\":\"summary a\\\"b > 1\"}", NULL), 400);
	/* a user's webhook, then deleted */
	snprintf(path, sizeof(path), "{\"url\":\"http://127.0.0.1:%d/hook/user/" SECRET "\"}", rx.port);
	assert_int_equal(post_json("/api/v1/user/webhooks", path, &j), 201);
	assert_string_equal(cJSON_GetObjectItem(j, "scope")->valuestring, "user");
	id = (int64_t)cJSON_GetObjectItem(j, "id")->valuedouble;
	cJSON_Delete(j);
	/* it fires for the user's runs in any project */
	{
		wb_run *run = start_run("usrp");
		char rid[64], rname[128];
		snprintf(rid, sizeof(rid), "%s", wb_run_id(run));
		snprintf(rname, sizeof(rname), "%s", wb_run_name(run));
		assert_int_equal(wb_finish(run, 0), WB_OK);
		assert_int_equal(wbt_rx_wait(&rx, "/hook/user/", 1, 20), 0);
		expect_run_message("user", 0, "usrp", rid, rname, "finished");
	}
	snprintf(path, sizeof(path), "/api/v1/user/webhooks/%lld", (long long)id);
	assert_int_equal(wbt_http(&srv, "DELETE", path, NULL, 0, NULL, 1, &r), 0);
	assert_int_equal(r.status, 200);
	wbt_response_free(&r);
	assert_int_equal(wbt_http(&srv, "DELETE", path, NULL, 0, NULL, 1, &r), 0);
	assert_int_equal(r.status, 404);
	wbt_response_free(&r);
	assert_int_equal(wbt_http(&srv, "DELETE", "/api/v1/user/webhooks/abc", NULL, 0, NULL, 1, &r), 0);
	assert_int_equal(r.status, 400);
	wbt_response_free(&r);
	j = wbt_get_json(&srv, "/api/v1/user/webhooks");
	assert_non_null(j);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "webhooks")), 0);
	cJSON_Delete(j);
}

/* An alert raised while the server is down goes through the run log and arrives after it is back. */
static void test_e2e_notify__alert_survives_outage(void **state)
{
	wb_run *run;
	cJSON *j;
	char *txt;

	(void)state;
	add_webhook("ao", "ao", "[\"alert\"]");
	wbt_server_kill(&srv);
	run = start_run("ao");
	assert_int_equal(wb_alert(run, WB_ALERT_INFO, "raised offline", "the server was down"), WB_OK);
	assert_int_equal(wbt_server_restart(&srv), 0);
	assert_int_equal(wb_finish(run, 0), WB_OK);
	assert_int_equal(wbt_rx_wait(&rx, "/hook/ao/", 1, 30), 0);
	j = message("ao", 0, NULL);
	txt = dump(j);
	assert_non_null(strstr(txt, ":information_source: *raised offline*"));
	assert_non_null(strstr(txt, "the server was down"));
	free(txt);
	cJSON_Delete(j);
	assert_int_equal(wbt_rx_count(&rx, "/hook/ao/"), 1);
	/* and the log says so (the notifier records after the receiver answered) */
	{
		cJSON *root = NULL, *d;
		double until = wbt_now() + 10;
		for (;;) {
			d = last_delivery("ao", &root);
			if ((d && strcmp(cJSON_GetObjectItem(d, "state")->valuestring, "delivered") == 0) || wbt_now() > until)
				break;
			cJSON_Delete(root);
			usleep(50000);
		}
		assert_string_equal(cJSON_GetObjectItem(d, "state")->valuestring, "delivered");
		cJSON_Delete(root);
	}
}

/* Last: every answer and the whole server log are free of the URL's secret part. */
static void test_e2e_notify__url_never_leaks(void **state)
{
	static const char *const paths[] = {
		"/api/v1/projects/tester/ev/webhooks", "/api/v1/projects/tester/ev/deliveries",
		"/api/v1/projects/tester/rl/deliveries", "/api/v1/projects/tester/dn/deliveries",
		"/api/v1/projects/tester/ru/rules", "/api/v1/user/webhooks", "/metrics"};
	wbt_response r;
	FILE *f;
	char line[8192];
	size_t lines = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		assert_int_equal(wbt_http(&srv, "GET", paths[i], NULL, 0, NULL, 1, &r), 0);
		assert_int_equal(r.status, 200);
		assert_null(strstr(r.body, SECRET));
		if (strcmp(paths[i], "/metrics") == 0) {
			assert_non_null(strstr(r.body, "wb_webhook_deliveries_total{outcome=\"delivered\"} "));
			assert_null(strstr(r.body, "wb_webhook_deliveries_total{outcome=\"delivered\"} 0\n"));
			assert_non_null(strstr(r.body, "wb_webhook_queue_pending "));
		}
		wbt_response_free(&r);
	}
	f = fopen(srv.log, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		lines++;
		assert_null(strstr(line, SECRET));
	}
	fclose(f);
	assert_true(lines > 5); /* the log was written (deliveries, retries, 4xx) */
}

/* Without --webhook-private a webhook cannot reach loopback (or any private address): it fails, nothing is sent. */
static void test_e2e_notify__private_address_refused(void **state)
{
	wbt_server s2;
	wbt_response r;
	char body[256];
	const char *h[] = {"Content-Type: application/json", NULL};
	cJSON *d = NULL;
	double until;

	(void)state;
	memset(&s2, 0, sizeof(s2));
	assert_int_equal(wbt_server_start(&s2, "--notify-backoff 0.3"), 0);
	snprintf(body, sizeof(body), "{\"url\":\"http://127.0.0.1:%d/hook/priv/" SECRET "\"}", rx.port);
	assert_int_equal(wbt_http(&s2, "POST", "/api/v1/projects/tester/pv/webhooks", body, strlen(body), h, 1, &r), 0);
	assert_int_equal(r.status, 201);
	wbt_response_free(&r);
	assert_int_equal(wbt_http(&s2, "PUT", "/api/v1/projects/tester/pv/runs/r1", "{}", 2, h, 1, &r), 0);
	wbt_response_free(&r);
	assert_int_equal(wbt_http(&s2, "POST", "/api/v1/projects/tester/pv/runs/r1/finish", "{\"exit_code\":0}", 15, h, 1, &r),
			 0);
	assert_int_equal(r.status, 200);
	wbt_response_free(&r);
	until = wbt_now() + 20;
	for (;;) {
		const cJSON *x;
		cJSON_Delete(d);
		d = wbt_get_json(&s2, "/api/v1/projects/tester/pv/deliveries");
		assert_non_null(d);
		x = cJSON_GetArrayItem(cJSON_GetObjectItem(d, "deliveries"), 0);
		if ((x && strcmp(cJSON_GetObjectItem(x, "state")->valuestring, "failed") == 0) || wbt_now() > until)
			break;
		usleep(50000);
	}
	{
		const cJSON *x = cJSON_GetArrayItem(cJSON_GetObjectItem(d, "deliveries"), 0);
		assert_non_null(x);
		assert_string_equal(cJSON_GetObjectItem(x, "state")->valuestring, "failed");
		assert_int_equal(cJSON_GetObjectItem(x, "attempts")->valueint, 1);
		assert_non_null(strstr(cJSON_GetObjectItem(x, "error")->valuestring, "private"));
	}
	cJSON_Delete(d);
	assert_int_equal(wbt_rx_count(&rx, "/hook/priv/"), 0);
	wbt_server_cleanup(&s2);
}

/* Finish run r1 of tester/<project> on s through the API and wait (at most
 * 20 s) until its first delivery leaves "pending"; its state into state. */
static void finish_and_wait(wbt_server *s, const char *project, char *state, size_t cap)
{
	const char *h[] = {"Content-Type: application/json", NULL};
	char path[256];
	wbt_response r;
	cJSON *d = NULL;
	double until = wbt_now() + 20;

	snprintf(path, sizeof(path), "/api/v1/projects/tester/%s/runs/r1", project);
	assert_int_equal(wbt_http(s, "PUT", path, "{}", 2, h, 1, &r), 0);
	wbt_response_free(&r);
	snprintf(path, sizeof(path), "/api/v1/projects/tester/%s/runs/r1/finish", project);
	assert_int_equal(wbt_http(s, "POST", path, "{\"exit_code\":0}", 15, h, 1, &r), 0);
	assert_int_equal(r.status, 200);
	wbt_response_free(&r);
	snprintf(path, sizeof(path), "/api/v1/projects/tester/%s/deliveries", project);
	state[0] = '\0';
	for (;;) {
		const cJSON *x;
		cJSON_Delete(d);
		d = wbt_get_json(s, path);
		assert_non_null(d);
		x = cJSON_GetArrayItem(cJSON_GetObjectItem(d, "deliveries"), 0);
		if (x)
			snprintf(state, cap, "%s", cJSON_GetObjectItem(x, "state")->valuestring);
		if ((x && strcmp(state, "pending") != 0) || wbt_now() > until)
			break;
		usleep(50000); /* polling the delivery log with a deadline */
	}
	cJSON_Delete(d);
}

/* Add a webhook to url on s for project. */
static void add_webhook_on(wbt_server *s, const char *project, const char *url)
{
	const char *h[] = {"Content-Type: application/json", NULL};
	char path[256], body[512];
	wbt_response r;

	snprintf(path, sizeof(path), "/api/v1/projects/tester/%s/webhooks", project);
	snprintf(body, sizeof(body), "{\"url\":\"%s\"}", url);
	assert_int_equal(wbt_http(s, "POST", path, body, strlen(body), h, 1, &r), 0);
	assert_int_equal(r.status, 201);
	wbt_response_free(&r);
}

/* http_proxy in the server's environment: the delivery still goes straight
 * to the webhook (which the private-address check saw), never to the proxy. */
static void test_e2e_notify__environment_proxy_ignored(void **state)
{
	static const char *const vars[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
					   "ALL_PROXY"};
	wbt_server s3;
	wbt_rx proxy;
	char url[256], st[32];

	(void)state;
	memset(&s3, 0, sizeof(s3));
	memset(&proxy, 0, sizeof(proxy));
	assert_int_equal(wbt_rx_start(&proxy, 0), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", proxy.port);
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		setenv(vars[i], url, 1);
	unsetenv("no_proxy");
	unsetenv("NO_PROXY");
	/* only the server inherits them (the harness's own requests never use a proxy) */
	assert_int_equal(wbt_server_start(&s3, "--notify-backoff 0.3 --webhook-private yes"), 0);
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook/noproxy/" SECRET, rx.port);
	add_webhook_on(&s3, "np", url);
	finish_and_wait(&s3, "np", st, sizeof(st));
	assert_string_equal(st, "delivered");
	assert_int_equal(wbt_rx_count(&rx, "/hook/noproxy/"), 1);
	assert_int_equal(wbt_rx_count(&proxy, ""), 0);
	wbt_server_cleanup(&s3);
	wbt_rx_free(&proxy);
}

/* --webhook-proxy: every delivery goes through it (the receiver stands in
 * for a proxy and sees the absolute URL), and a proxy on loopback is
 * allowed: where webhooks may go is then the proxy's call. */
static void test_e2e_notify__configured_proxy_used(void **state)
{
	wbt_server s4;
	wbt_rx proxy;
	char args[256], st[32];

	(void)state;
	memset(&s4, 0, sizeof(s4));
	memset(&proxy, 0, sizeof(proxy));
	assert_int_equal(wbt_rx_start(&proxy, 0), 0);
	snprintf(args, sizeof(args), "--notify-backoff 0.3 --webhook-proxy http://127.0.0.1:%d", proxy.port);
	assert_int_equal(wbt_server_start(&s4, args), 0);
	/* a name only the proxy would resolve */
	add_webhook_on(&s4, "vp", "http://hooks.example.invalid/hook/viaproxy/" SECRET);
	finish_and_wait(&s4, "vp", st, sizeof(st));
	assert_string_equal(st, "delivered");
	assert_int_equal(wbt_rx_count(&proxy, "http://hooks.example.invalid/hook/viaproxy/"), 1);
	wbt_server_cleanup(&s4);
	wbt_rx_free(&proxy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_notify__finished_failed_crashed),
		cmocka_unit_test(test_e2e_notify__alert_rate_limited),
		cmocka_unit_test(test_e2e_notify__threshold_rules),
		cmocka_unit_test(test_e2e_notify__alert_within_block_kit_limits),
		cmocka_unit_test(test_e2e_notify__429_retry_after),
		cmocka_unit_test(test_e2e_notify__receiver_down_then_up_across_restart),
		cmocka_unit_test(test_e2e_notify__bad_input_and_delete),
		cmocka_unit_test(test_e2e_notify__alert_survives_outage),
		cmocka_unit_test(test_e2e_notify__url_never_leaks),
		cmocka_unit_test(test_e2e_notify__private_address_refused), /* from here: they move the SDK's environment */
		cmocka_unit_test(test_e2e_notify__environment_proxy_ignored),
		cmocka_unit_test(test_e2e_notify__configured_proxy_used),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
