/*
 * bench_notify — figures of notifications and export/import, one JSON
 * object per line ({"bench", "value", "unit"}), against real servers on
 * loopback:
 *
 *  - ingest with notifications: the same trainer (10 metrics per step)
 *    into a project without webhooks and into one with 8 webhooks (their
 *    receiver down, so deliveries pile up and retry meanwhile) and 8
 *    summary rules evaluated on every summary write: points/s of each.
 *  - delivery latency: from wb_finish returning to the loopback receiver
 *    getting the Slack message, median and worst of 20 runs.
 *  - export and import: a run of N points through `wb export` and
 *    `wb import` into a second server: points/s each way.
 *
 * WB_BENCH_POINTS scales the runs (default 2,000,000).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "receiver.h"
#include "wb.h"

static void emit(const char *bench, double value, const char *unit)
{
	printf("{\"bench\":\"%s\",\"value\":%.6g,\"unit\":\"%s\"}\n", bench, value, unit);
	fflush(stdout);
}

static int post(const wbt_server *s, const char *path, const char *body)
{
	const char *h[] = {"Content-Type: application/json", NULL};
	wbt_response r;
	long st;
	if (wbt_http(s, "POST", path, body, strlen(body), h, 1, &r))
		return -1;
	st = r.status;
	wbt_response_free(&r);
	return st == 201 || st == 200 ? 0 : -1;
}

/* Log n points (10 per step) into a new run of project; seconds from the first wb_log to wb_finish. */
static double log_run(const char *project, int64_t n, char *id, size_t idcap)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;
	double t0;
	o.project = project;
	o.entity = "bench";
	o.mode = WB_MODE_ONLINE;
	o.finish_timeout_ms = 600000;
	if (wb_init(&run, &o) != WB_OK)
		return -1;
	if (id)
		snprintf(id, idcap, "%s", wb_run_id(run));
	t0 = wbt_now();
	for (int64_t s = 0; s < n / 10; s++) {
		double x = (double)s;
		wb_log(run,
		       (const wb_metric[]){{"loss", 1 / (x + 1)}, {"acc", x * 1e-7}, {"lr", 0.1}, {"m/a", x}, {"m/b", -x},
					   {"m/c", x * 0.5}, {"m/d", x * 2}, {"m/e", 1e-3 * x}, {"m/f", 7}, {"val/loss", 3 - x * 1e-7}},
		       10, s);
	}
	if (wb_finish(run, 0) != WB_OK)
		return -1;
	return wbt_now() - t0;
}

static int run_wb(const char *const *args)
{
	pid_t p;
	int st;
	fflush(NULL);
	p = fork();
	if (p == 0) {
		execv(wbt_wb_bin(), (char *const *)args);
		_exit(127);
	}
	return waitpid(p, &st, 0) == p && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(void)
{
	wbt_server a, b;
	wbt_rx rx, down;
	int64_t n = getenv("WB_BENCH_POINTS") ? atoll(getenv("WB_BENCH_POINTS")) : 2000000;
	char root[256], body[512], archive[400], id[64];
	double t, lat[20];
	int port;

	memset(&rx, 0, sizeof(rx));
	memset(&down, 0, sizeof(down));
	if (wbt_server_start(&b, NULL) || wbt_server_start(&a, "--webhook-private yes") ||
	    wbt_mkdtemp(root, sizeof(root), "bnotify") || wbt_rx_start(&rx, 0) || wbt_rx_start(&down, 0))
		return 1;
	setenv("WB_DIR", root, 1);
	setenv("WB_DISABLE_GIT", "1", 1);
	setenv("WB_SYSTEM_SAMPLE_MS", "-1", 1);
	port = down.port;
	wbt_rx_down(&down);

	/* ingest without and with notifications */
	t = log_run("plain", n, NULL, 0);
	emit("ingest_no_webhooks_points_per_s", (double)n / t, "points/s");
	for (int i = 0; i < 8; i++) {
		snprintf(body, sizeof(body), "{\"url\":\"http://127.0.0.1:%d/down/%d\"}", port, i);
		if (post(&a, "/api/v1/projects/bench/notified/webhooks", body))
			return 1;
		snprintf(body, sizeof(body), "{\"rule\":\"summary m/%c > %d\"}", 'a' + (i % 6), 1000000000 + i);
		if (post(&a, "/api/v1/projects/bench/notified/rules", body))
			return 1;
	}
	t = log_run("notified", n, NULL, 0);
	emit("ingest_8_webhooks_8_rules_points_per_s", (double)n / t, "points/s");

	/* delivery latency */
	snprintf(body, sizeof(body), "{\"url\":\"http://127.0.0.1:%d/lat/x\",\"events\":[\"finished\"]}", rx.port);
	if (post(&a, "/api/v1/projects/bench/latency/webhooks", body))
		return 1;
	for (int i = 0; i < 20; i++) {
		wb_init_options o = WB_INIT_OPTIONS_INIT;
		wb_run *run = NULL;
		double at = 0;
		char *msg;
		o.project = "latency";
		o.entity = "bench";
		if (wb_init(&run, &o) != WB_OK || wb_finish(run, 0) != WB_OK)
			return 1;
		t = wbt_now();
		if (wbt_rx_wait(&rx, "/lat/", (size_t)i + 1, 30))
			return 1;
		msg = wbt_rx_body(&rx, "/lat/", (size_t)i, &at);
		free(msg);
		lat[i] = (at - t) * 1000;
	}
	qsort(lat, 20, sizeof(lat[0]), cmp);
	emit("webhook_delivery_latency_p50_ms", lat[10], "ms");
	emit("webhook_delivery_latency_max_ms", lat[19], "ms");

	/* export and import */
	if (log_run("xfer", n, id, sizeof(id)) < 0)
		return 1;
	snprintf(archive, sizeof(archive), "%s/x.tar.gz", root);
	{
		char ref[128];
		const char *ex[] = {wbt_wb_bin(), "export", "--run", ref, archive, "--base-url", a.url, "--api-key", a.key, NULL};
		const char *im[] = {wbt_wb_bin(), "import", archive, "--base-url", b.url, "--api-key", b.key, NULL};
		snprintf(ref, sizeof(ref), "bench/xfer/%s", id);
		t = wbt_now();
		if (run_wb(ex))
			return 1;
		emit("export_points_per_s", (double)n / (wbt_now() - t), "points/s");
		t = wbt_now();
		if (run_wb(im))
			return 1;
		emit("import_points_per_s", (double)n / (wbt_now() - t), "points/s");
	}
	wbt_rx_free(&rx);
	wbt_rx_free(&down);
	wbt_server_cleanup(&a);
	wbt_server_cleanup(&b);
	if (!getenv("WBT_KEEP"))
		wbt_rm_rf(root);
	return 0;
}
