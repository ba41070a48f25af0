/*
 * wb_fill — fills a running `wb server` through the real SDK (libwb) for
 * the browser tests and benchmarks. WB_BASE_URL, WB_API_KEY and WB_DIR come
 * from the environment. Prints one JSON line per run: {"id":..,"name":..}.
 *
 *   wb_fill demo  PROJECT N STEPS     N finished runs with config and metrics, one of them
 *                                     named and tagged with XSS payloads, one failed
 *   wb_fill live  PROJECT STEPS       a running run: STEPS steps, then STEPS more per
 *                                     line read from stdin; finishes at EOF
 *   wb_fill many  PROJECT N STEPS     N runs of STEPS steps of "loss" (8 at a time)
 *   wb_fill big   PROJECT POINTS      one run with POINTS points of "loss"
 *   wb_fill code  PROJECT STEPS       one run with git capture on, from the current directory
 *   wb_fill sys   PROJECT MS          one run with system metrics sampled every 20 ms
 *                                     while it works (and logs "loss") for MS ms
 *   wb_fill media PROJECT STEPS       one run with a histogram per step ("weights", drifting),
 *                                     an image every 5 steps and two tables, with XSS
 *                                     payloads in captions and cells
 *   wb_fill medialive PROJECT STEPS   a running run: STEPS steps of "loss" and a "weights"
 *                                     histogram, then STEPS more per line of stdin; finishes at EOF
 *   wb_fill long  PROJECT BYTES       one finished run whose config "prompt" and summary "answer"
 *                                     are BYTES long (one word repeated, then an end marker)
 *   wb_fill group PROJECT RANKS STEPS the ranks of one simulated OpenMPI job (its
 *                                     variables set per rank): rank r logs "loss" =
 *                                     r + step / 100 for STEPS + 5 r steps
 *   wb_fill trials PROJECT METRIC     sweep trials' runs, one per stdin line
 *                                     "RUN_ID VALUE [KEY=VALUE ...]" (8 at a time): the run
 *                                     RUN_ID logs METRIC over 3 steps ending at VALUE ("-":
 *                                     never), KEY=VALUE as config (a number if it parses as one)
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wb.h"

#define XSS_SCRIPT "<script>window.__xss=1</script>"
#define XSS_IMG "<img src=x onerror=\"window.__xss=1\">"

static const char *project;
static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;

static wb_run *start(const char *name, const char *notes, const char *tags)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *r = NULL;
	int rc;

	o.entity = "team";
	o.project = project;
	o.name = name;
	o.notes = notes;
	o.tags = tags;
	o.disable_git = 1;
	o.system_sample_ms = -1;
	o.buffer_bytes = 64u << 20;
	o.finish_timeout_ms = 600000;
	if ((rc = wb_run_init(&r, &o)) != WB_OK) {
		fprintf(stderr, "wb_fill: wb_run_init: %s: %s\n", wb_strerror(rc), wb_errmsg());
		exit(1);
	}
	return r;
}

static void finish(wb_run *r, int code)
{
	char id[80], name[200];
	int rc;

	snprintf(id, sizeof(id), "%s", wb_run_id(r));
	snprintf(name, sizeof(name), "%s", wb_run_name(r));
	if ((rc = wb_run_finish(r, code)) != WB_OK) {
		fprintf(stderr, "wb_fill: wb_run_finish: %s\n", wb_strerror(rc));
		exit(1);
	}
	pthread_mutex_lock(&out_mu);
	printf("{\"id\":\"%s\"}\n", id);
	fflush(stdout);
	pthread_mutex_unlock(&out_mu);
	(void)name;
}

static void log_curve(wb_run *r, int64_t from, int64_t steps, double lr, int i)
{
	for (int64_t s = from; s < from + steps; s++) {
		double t = (double)s;
		double loss = 2.0 * exp(-t * lr * 0.5) + 0.05 * (double)(i % 3) + 0.02 * sin(t * 0.7);
		double acc = 1.0 - loss / 2.5;
		WB_LOG(r, s, {"loss", loss}, {"acc", acc});
		if (s % 10 == 9)
			WB_LOG(r, s, {"val/loss", loss * 1.1}, {"epoch", (double)(s / 10)});
	}
}

static int demo(int n, int64_t steps)
{
	static const char *opt[] = {"adam", "sgd", "adamw"};
	for (int i = 0; i < n; i++) {
		char name[64];
		const char *notes = i == 0 ? "first try" : NULL;
		const char *tags = i % 2 ? "sweep" : "sweep,small";
		wb_run *r;
		double lr = 0.01 * (double)(i + 1);
		int xss = i == n - 1;

		snprintf(name, sizeof(name), "run-%02d", i);
		if (xss) {
			r = start(XSS_SCRIPT XSS_IMG, XSS_IMG " notes " XSS_SCRIPT, XSS_IMG);
			wb_config_set_string(r, XSS_IMG, XSS_SCRIPT);
			wb_summary_set_string(r, "note", XSS_IMG);
		} else {
			r = start(name, notes, tags);
		}
		wb_config_set_double(r, "lr", lr);
		wb_config_set_int(r, "batch_size", 32 << (i % 3));
		wb_config_set_string(r, "optimizer.name", opt[i % 3]);
		wb_config_set_int(r, "model.layers", 4);
		log_curve(r, 0, steps, lr, i);
		finish(r, i == 1 ? 3 : 0);
	}
	return 0;
}

static int long_values(size_t bytes)
{
	wb_run *r = start("long-values", NULL, NULL);
	char *v = malloc(bytes + 1);

	if (!v)
		return 1;
	for (size_t i = 0; i < bytes; i++)
		v[i] = "lorem-ipsum "[i % 12];
	memcpy(v + bytes - 4, "<END", 4);
	v[bytes] = '\0';
	wb_config_set_string(r, "prompt", v);
	wb_config_set_double(r, "lr", 0.01);
	wb_summary_set_string(r, "answer", v);
	log_curve(r, 0, 30, 0.01, 0);
	free(v);
	finish(r, 0);
	return 0;
}

/* n runs whose config and summary keys hold '"' and '\\'. */
static int quoted(int n)
{
	for (int i = 0; i < n; i++) {
		char name[64];
		wb_run *r;

		snprintf(name, sizeof(name), "q-%02d", i);
		r = start(name, NULL, NULL);
		wb_config_set_string(r, "opt\"name", i % 2 ? "sgd" : "adam");
		wb_config_set_int(r, "lr\\x", i);
		wb_summary_set_double(r, "acc\"top", (double)((i * 3) % n));
		log_curve(r, 0, 5, 0.01, i);
		finish(r, 0);
	}
	return 0;
}

static int live(int64_t steps)
{
	wb_run *r = start("live-run", "streaming", "live");
	char line[64];
	int64_t at = 0;

	wb_config_set_double(r, "lr", 0.05);
	log_curve(r, at, steps, 0.05, 0);
	at += steps;
	printf("{\"id\":\"%s\"}\n", wb_run_id(r));
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		log_curve(r, at, steps, 0.05, 0);
		at += steps;
	}
	return wb_run_finish(r, 0) == WB_OK ? 0 : 1;
}

struct many_arg {
	int from, to;
	int64_t steps;
};

static void *many_worker(void *p)
{
	struct many_arg *a = p;
	for (int i = a->from; i < a->to; i++) {
		char name[64];
		wb_run *r;
		snprintf(name, sizeof(name), "bench-%05d", i);
		r = start(name, NULL, i % 10 == 0 ? "baseline" : "sweep");
		wb_config_set_double(r, "lr", 0.001 * (double)(1 + i % 50));
		wb_config_set_int(r, "seed", i);
		wb_config_set_string(r, "optimizer", i % 2 ? "adam" : "sgd");
		for (int64_t s = 0; s < a->steps; s++)
			WB_LOG(r, s, {"loss", 1.0 / (1.0 + 0.01 * (double)s * (1.0 + (double)(i % 7)))});
		if (a->steps == 0)
			wb_summary_set_double(r, "loss", 1.0 / (1.0 + (double)(i % 97)));
		finish(r, 0);
	}
	return NULL;
}

static int many(int n, int64_t steps)
{
	enum { T = 8 };
	pthread_t th[T];
	struct many_arg a[T];
	for (int t = 0; t < T; t++) {
		a[t].from = n * t / T;
		a[t].to = n * (t + 1) / T;
		a[t].steps = steps;
		pthread_create(&th[t], NULL, many_worker, &a[t]);
	}
	for (int t = 0; t < T; t++)
		pthread_join(th[t], NULL);
	return 0;
}

static int big(int64_t points)
{
	wb_run *r = start("big-run", NULL, "bench");
	wb_metric m[1];
	for (int64_t j = 0; j < points; j++) {
		m[0].key = "loss";
		m[0].value = sin((double)j * 1e-4) + 0.1 * sin((double)j * 0.37);
		while (wb_run_log(r, m, 1, j) == WB_EFULL)
			; /* the buffer stayed full for 1 s: the uploader is behind; try again */
	}
	finish(r, 0);
	return 0;
}

static int code(int64_t steps)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *r = NULL;
	int rc;

	o.entity = "team";
	o.project = project;
	o.system_sample_ms = -1;
	if ((rc = wb_run_init(&r, &o)) != WB_OK) {
		fprintf(stderr, "wb_fill: wb_run_init: %s: %s\n", wb_strerror(rc), wb_errmsg());
		return 1;
	}
	log_curve(r, 0, steps, 0.05, 0);
	finish(r, 0);
	return 0;
}

static double mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Real samples from libwb's sampler: the run busies a CPU for ms
 * milliseconds (that is the workload being measured, not a wait). */
static int sys(int64_t ms)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *r = NULL;
	double t0, x = 0;
	int64_t step = 0;
	int rc;

	o.entity = "team";
	o.project = project;
	o.name = "sys-run";
	o.disable_git = 1;
	o.system_sample_ms = 20;
	if ((rc = wb_run_init(&r, &o)) != WB_OK) {
		fprintf(stderr, "wb_fill: wb_run_init: %s: %s\n", wb_strerror(rc), wb_errmsg());
		return 1;
	}
	t0 = mono_ms();
	while (mono_ms() - t0 < (double)ms) {
		for (int i = 0; i < 100000; i++)
			x += sin((double)i);
		WB_LOG(r, step, {"loss", 1.0 / (1.0 + (double)step)});
		step++;
	}
	if (x == 12345.0)
		fprintf(stderr, "unlikely\n");
	finish(r, 0);
	return 0;
}

static int group(int ranks, int64_t steps)
{
	char v[32];

	snprintf(v, sizeof(v), "%d", (int)getpid());
	setenv("OMPI_MCA_ess_base_jobid", v, 1);
	snprintf(v, sizeof(v), "%d", ranks);
	setenv("OMPI_COMM_WORLD_SIZE", v, 1);
	for (int r = 0; r < ranks; r++) {
		wb_run *run;
		snprintf(v, sizeof(v), "%d", r);
		setenv("OMPI_COMM_WORLD_RANK", v, 1);
		run = start(NULL, NULL, NULL);
		for (int64_t s = 0; s < steps + 5 * r; s++)
			WB_LOG(run, s, {"loss", r + (double)s / 100.0});
		finish(run, 0);
	}
	return 0;
}

static int media(int64_t steps)
{
	wb_run *r = start("media-run", NULL, NULL);
	double vals[500];
	uint8_t rgb[16 * 16 * 3];
	char caption[200], table[600];

	snprintf(table, sizeof table,
		 "{\"columns\":[\"input\",\"score\",\"ok\"],\"data\":[[\"%s\",0.25,true],[\"%s\",null,false]]}",
		 "<b>bold</b>", "<img src=x onerror=\\\"window.__xss=1\\\">");
	for (int64_t s = 0; s < steps; s++) {
		WB_LOG(r, s, {"loss", 1.0 / (double)(s + 1)});
		if (s == 0 && wb_run_log_table(r, "preds", table, WB_STEP_AUTO) != WB_OK)
			return 1;
		/* a bump that drifts up and widens with the step */
		for (int i = 0; i < 500; i++)
			vals[i] = (double)s * 0.1 + (1.0 + (double)s * 0.02) * sin((double)i * 0.37) * (double)(i % 7) / 7.0;
		if (wb_run_log_histogram(r, "weights", vals, 500, WB_STEP_AUTO) != WB_OK)
			return 1;
		if (s % 5 == 0) {
			for (int i = 0; i < 16 * 16; i++) {
				rgb[3 * i] = (uint8_t)(s * 20);
				rgb[3 * i + 1] = (uint8_t)(i % 16 * 16);
				rgb[3 * i + 2] = (uint8_t)(i / 16 * 16);
			}
			snprintf(caption, sizeof caption, "sample at %lld " XSS_IMG " " XSS_SCRIPT, (long long)s);
			if (wb_run_log_image_rgb(r, "samples", rgb, 16, 16, caption, WB_STEP_AUTO) != WB_OK)
				return 1;
		}
	}
	if (wb_run_log_table(r, "preds", "{\"columns\":[\"input\",\"score\",\"ok\"],\"data\":[[\"last\",1,false]]}",
			 steps - 1) != WB_OK)
		return 1;
	finish(r, 0);
	return 0;
}

static void media_steps(wb_run *r, int64_t from, int64_t steps)
{
	double vals[64];

	for (int64_t s = from; s < from + steps; s++) {
		WB_LOG(r, s, {"loss", 1.0 / (double)(s + 1)});
		for (int i = 0; i < 64; i++)
			vals[i] = (double)s + (double)i / 64.0;
		wb_run_log_histogram(r, "weights", vals, 64, WB_STEP_AUTO);
	}
}

static int medialive(int64_t steps)
{
	wb_run *r = start("media-live", NULL, NULL);
	char line[64];
	int64_t at = 0;

	media_steps(r, at, steps);
	at += steps;
	printf("{\"id\":\"%s\"}\n", wb_run_id(r));
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		media_steps(r, at, steps);
		at += steps;
	}
	return wb_run_finish(r, 0) == WB_OK ? 0 : 1;
}

enum { TRIALS_MAX = 10000, TRIAL_LINE = 1024 };
static char (*trial_lines)[TRIAL_LINE];
static const char *trial_metric;

struct trials_arg {
	int from, to;
};

/* One trial's run from its line (modified in place by strtok_r). */
static void trial_run(char *line)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	char *save = NULL, *id = strtok_r(line, " \t\n", &save), *val = strtok_r(NULL, " \t\n", &save), *kv;
	wb_run *r = NULL;
	int rc;

	if (!id || !val) {
		fprintf(stderr, "wb_fill: trials: a line needs RUN_ID VALUE\n");
		exit(2);
	}
	o.entity = "team";
	o.project = project;
	o.run_id = id;
	o.name = id;
	o.disable_git = 1;
	o.system_sample_ms = -1;
	if ((rc = wb_run_init(&r, &o)) != WB_OK) {
		fprintf(stderr, "wb_fill: wb_run_init %s: %s: %s\n", id, wb_strerror(rc), wb_errmsg());
		exit(1);
	}
	while ((kv = strtok_r(NULL, " \t\n", &save))) {
		char *eq = strchr(kv, '='), *end = NULL;
		double d;
		if (!eq)
			continue;
		*eq = '\0';
		d = strtod(eq + 1, &end);
		if (end != eq + 1 && *end == '\0')
			wb_config_set_double(r, kv, d);
		else
			wb_config_set_string(r, kv, eq + 1);
	}
	if (strcmp(val, "-") != 0) {
		double v = strtod(val, NULL);
		for (int s = 0; s < 3; s++) {
			wb_metric m = {trial_metric, v + 0.5 * (double)(2 - s)};
			wb_run_log(r, &m, 1, s);
		}
	}
	finish(r, 0);
}

static void *trials_worker(void *p)
{
	struct trials_arg *a = p;
	for (int i = a->from; i < a->to; i++)
		trial_run(trial_lines[i]);
	return NULL;
}

static int trials(const char *metric)
{
	enum { T = 8 };
	pthread_t th[T];
	struct trials_arg a[T];
	int n = 0;

	trial_metric = metric;
	trial_lines = calloc(TRIALS_MAX, TRIAL_LINE);
	if (!trial_lines)
		return 1;
	while (n < TRIALS_MAX && fgets(trial_lines[n], TRIAL_LINE, stdin)) {
		if (!strchr(trial_lines[n], '\n') && !feof(stdin)) {
			fprintf(stderr, "wb_fill: trials: line %d is longer than %d bytes\n", n + 1, TRIAL_LINE - 2);
			free(trial_lines);
			return 2;
		}
		if (trial_lines[n][0] != '\n')
			n++;
	}
	if (n == TRIALS_MAX && getc(stdin) != EOF) {
		fprintf(stderr, "wb_fill: trials: more than %d lines\n", TRIALS_MAX);
		free(trial_lines);
		return 2;
	}
	for (int t = 0; t < T; t++) {
		a[t].from = n * t / T;
		a[t].to = n * (t + 1) / T;
		pthread_create(&th[t], NULL, trials_worker, &a[t]);
	}
	for (int t = 0; t < T; t++)
		pthread_join(th[t], NULL);
	free(trial_lines);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: wb_fill demo|live|many|big PROJECT ARGS...\n");
		return 2;
	}
	project = argv[2];
	if (strcmp(argv[1], "demo") == 0 && argc == 5)
		return demo(atoi(argv[3]), atoll(argv[4]));
	if (strcmp(argv[1], "live") == 0)
		return live(atoll(argv[3]));
	if (strcmp(argv[1], "quoted") == 0 && argc == 4)
		return quoted(atoi(argv[3]));
	if (strcmp(argv[1], "long") == 0 && argc == 4)
		return long_values((size_t)strtoull(argv[3], NULL, 10));
	if (strcmp(argv[1], "many") == 0 && argc == 5)
		return many(atoi(argv[3]), atoll(argv[4]));
	if (strcmp(argv[1], "code") == 0 && argc == 4)
		return code(atoll(argv[3]));
	if (strcmp(argv[1], "group") == 0 && argc == 5)
		return group(atoi(argv[3]), atoll(argv[4]));
	if (strcmp(argv[1], "sys") == 0 && argc == 4)
		return sys(atoll(argv[3]));
	if (strcmp(argv[1], "medialive") == 0 && argc == 4)
		return medialive(atoll(argv[3]));
	if (strcmp(argv[1], "media") == 0 && argc == 4)
		return media(atoll(argv[3]));
	if (strcmp(argv[1], "trials") == 0 && argc == 4)
		return trials(argv[3]);
	if (strcmp(argv[1], "big") == 0)
		return big(atoll(argv[3]));
	fprintf(stderr, "wb_fill: bad arguments\n");
	return 2;
}
