/*
 * fashion_mnist.c — a small, real trainer instrumented with libwb.
 *
 * It trains a one-hidden-layer perceptron (784 -> hidden ReLU -> 10 softmax)
 * on Fashion-MNIST with mini-batch SGD and momentum, and records the run
 * with wb: the hyperparameters as config, the loss and accuracy of every
 * mini-batch, the validation loss and accuracy at the end of every epoch,
 * and the test loss and accuracy as summary values.
 *
 * The data comes from Debian's dataset-fashion-mnist package (the four IDX
 * files, gzip-compressed, read with zlib). The last 5,000 training images
 * are held out as the validation set; the 10,000 t10k images are the test
 * set, touched once at the end.
 *
 * The learning rate follows a cosine from --lr down to 0 over the run: the
 * same step size without decay leaves the validation accuracy bouncing by a
 * point or two from epoch to epoch.
 *
 * Why it is written this way:
 *  - Plain C, one thread, no BLAS: the example must build anywhere libwb
 *    builds. Speed comes from two things. The inner loops run over the
 *    hidden units with unit stride, in fixed blocks of 8 (the hidden layer
 *    is padded to a multiple of 8 with units whose weights stay zero), so
 *    the compiler vectorises them even at -O2, whose cost model leaves
 *    loops of unknown length scalar.
 *    And about half of the pixels of a Fashion-MNIST image are exactly zero,
 *    so the first layer (forward and its weight gradient) skips them: the
 *    default run (10 epochs, 88% test accuracy) takes about 6 s on one
 *    core; --hidden 256 --epochs 15 reaches 89% in about 20 s.
 *  - Images stay uint8 in memory (47 MB, not 188 MB of floats) and are
 *    scaled to [0, 1] on the fly.
 *  - A seeded splitmix64 generator drives the initialisation and the
 *    shuffling, so a run is reproducible bit for bit with the same --seed.
 *  - wb never stops training: every wb_ call's return code is checked and a
 *    failure is reported on stderr (the first few, then counted), and the
 *    trainer carries on. If wb_run_init itself fails, the trainer runs without
 *    tracking.
 */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include "wb.h"

#include "fmnist.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROG "fashion_mnist"
#define DEFAULT_DATA_DIR FMNIST_DEFAULT_DIR
#define DEFAULT_PROJECT "fashion-mnist"
#define NVAL 5000 /* the last NVAL training images are the validation set */
#define MAX_WB_ERRORS_SHOWN 5
#define MAX_IMAGES 1000000

/* ------------------------------------------------------------------ */
/* Command line                                                        */

typedef struct config {
	int epochs;
	double lr;
	double momentum;
	int batch;
	int hidden;
	uint64_t seed;
	long limit; /* 0: all training images */
	const char *data_dir;
	const char *project; /* NULL: WB_PROJECT, else DEFAULT_PROJECT */
	const char *name;    /* NULL: WB_NAME, else chosen by wb */
} config;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " [options]\n"
		"\n"
		"Train a 784-H-10 perceptron on Fashion-MNIST and track the run with wb.\n"
		"\n"
		"  --epochs N     passes over the training set (default 10)\n"
		"  --lr X         initial learning rate, cosine-decayed to 0 (default 0.05)\n"
		"  --momentum X   SGD momentum, 0 for plain SGD (default 0.9)\n"
		"  --batch N      mini-batch size (default 64)\n"
		"  --hidden N     hidden units (default 128)\n"
		"  --seed N       seed of initialisation and shuffling (default 1)\n"
		"  --limit N      train on the first N training images only (default: all 55000)\n"
		"  --data DIR     dataset directory (default " DEFAULT_DATA_DIR ")\n"
		"  --project P    wb project (default $WB_PROJECT, else \"" DEFAULT_PROJECT "\")\n"
		"  --name NAME    wb run name (default $WB_NAME, else generated)\n"
		"  --help         show this help\n"
		"\n"
		"wb settings come from the environment: WB_MODE (online|offline|disabled),\n"
		"WB_BASE_URL, WB_API_KEY, WB_DIR, WB_ENTITY, WB_TAGS, ...\n");
}

static int parse_long(const char *flag, const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, PROG ": %s: expected an integer in [%ld, %ld], got '%s'\n", flag, lo, hi, s);
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_double(const char *flag, const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= lo && v <= hi)) {
		fprintf(stderr, PROG ": %s: expected a number in [%g, %g], got '%s'\n", flag, lo, hi, s);
		return -1;
	}
	*out = v;
	return 0;
}

/* Parse argv into *c. Returns 0 to train, 1 after --help, -1 on a usage
 * error (already reported). Accepts "--flag value" and "--flag=value". */
static int parse_args(int argc, char **argv, config *c)
{
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *val = NULL, *eq;
		char flag[32];
		long l;

		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			usage(stdout);
			return 1;
		}
		if (strncmp(arg, "--", 2) != 0) {
			fprintf(stderr, PROG ": unexpected argument '%s' (see --help)\n", arg);
			return -1;
		}
		eq = strchr(arg, '=');
		if (eq != NULL) {
			size_t n = (size_t)(eq - arg);
			if (n >= sizeof(flag))
				n = sizeof(flag) - 1;
			memcpy(flag, arg, n);
			flag[n] = '\0';
			val = eq + 1;
		} else {
			snprintf(flag, sizeof(flag), "%s", arg);
			if (i + 1 >= argc) {
				fprintf(stderr, PROG ": %s needs a value (see --help)\n", flag);
				return -1;
			}
			val = argv[++i];
		}

		if (strcmp(flag, "--epochs") == 0) {
			if (parse_long(flag, val, 1, 10000, &l) != 0)
				return -1;
			c->epochs = (int)l;
		} else if (strcmp(flag, "--lr") == 0) {
			if (parse_double(flag, val, 1e-9, 10.0, &c->lr) != 0)
				return -1;
		} else if (strcmp(flag, "--momentum") == 0) {
			if (parse_double(flag, val, 0.0, 0.999, &c->momentum) != 0)
				return -1;
		} else if (strcmp(flag, "--batch") == 0) {
			if (parse_long(flag, val, 1, 65536, &l) != 0)
				return -1;
			c->batch = (int)l;
		} else if (strcmp(flag, "--hidden") == 0) {
			if (parse_long(flag, val, 1, 8192, &l) != 0)
				return -1;
			c->hidden = (int)l;
		} else if (strcmp(flag, "--seed") == 0) {
			if (parse_long(flag, val, 0, INT32_MAX, &l) != 0)
				return -1;
			c->seed = (uint64_t)l;
		} else if (strcmp(flag, "--limit") == 0) {
			if (parse_long(flag, val, 1, MAX_IMAGES, &l) != 0)
				return -1;
			c->limit = l;
		} else if (strcmp(flag, "--data") == 0) {
			c->data_dir = val;
		} else if (strcmp(flag, "--project") == 0) {
			c->project = val;
		} else if (strcmp(flag, "--name") == 0) {
			c->name = val;
		} else {
			fprintf(stderr, PROG ": unknown option '%s' (see --help)\n", flag);
			return -1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* wb glue                                                             */

static unsigned long wb_errors;

/*
 * Report a failed wb_ call and carry on: tracking must never stop training.
 * The first few failures are printed, the rest only counted.
 */
static void wb_check(int rc, const char *what)
{
	char detail[256];

	if (rc == WB_OK)
		return;
	/* copy the detail first: it lives only until the next wb_ call */
	snprintf(detail, sizeof(detail), "%s", wb_errmsg());
	wb_errors++;
	if (wb_errors <= MAX_WB_ERRORS_SHOWN)
		fprintf(stderr, PROG ": wb: %s: %s%s%s\n", what, wb_strerror(rc), detail[0] ? ": " : "", detail);
	if (wb_errors == MAX_WB_ERRORS_SHOWN)
		fprintf(stderr, PROG ": wb: further errors are counted, not shown\n");
}

static void log_config(wb_run *run, const config *c, long n_train)
{
	if (run == NULL)
		return;
	wb_check(wb_config_set_string(run, "model.type", "mlp"), "config model.type");
	wb_check(wb_config_set_int(run, "model.hidden", c->hidden), "config model.hidden");
	wb_check(wb_config_set_string(run, "model.activation", "relu"), "config model.activation");
	wb_check(wb_config_set_string(run, "optimizer.name", c->momentum > 0 ? "sgd_momentum" : "sgd"),
		 "config optimizer.name");
	wb_check(wb_config_set_double(run, "optimizer.lr", c->lr), "config optimizer.lr");
	wb_check(wb_config_set_double(run, "optimizer.momentum", c->momentum), "config optimizer.momentum");
	wb_check(wb_config_set_string(run, "optimizer.schedule", "cosine"), "config optimizer.schedule");
	wb_check(wb_config_set_int(run, "batch_size", c->batch), "config batch_size");
	wb_check(wb_config_set_int(run, "epochs", c->epochs), "config epochs");
	wb_check(wb_config_set_int(run, "seed", (int64_t)c->seed), "config seed");
	wb_check(wb_config_set_string(run, "data.name", "fashion-mnist"), "config data.name");
	wb_check(wb_config_set_int(run, "data.train_size", n_train), "config data.train_size");
	wb_check(wb_config_set_int(run, "data.val_size", NVAL), "config data.val_size");
	wb_check(wb_run_define_metric(run, "val/*", "epoch", WB_SUMMARY_MAX | WB_SUMMARY_LAST), "define_metric val/*");
	wb_check(wb_run_define_metric(run, "train/loss", NULL, WB_SUMMARY_MIN | WB_SUMMARY_LAST),
		 "define_metric train/loss");
}

/*
 * The hyperparameters as the run's config has them. Without a sweep they
 * are the ones log_config just set; in a sweep's trial (`wb agent`), the
 * trial's parameters are the config and a set of the same key keeps the
 * sweep's value, so reading back is how the trainer learns its trial. 0, or
 * -1 for a value the model cannot use.
 */
static int config_readback(wb_run *run, config *c)
{
	int64_t hidden = c->hidden, batch = c->batch, epochs = c->epochs;

	if (run == NULL)
		return 0;
	(void)wb_config_get_double(run, "optimizer.lr", &c->lr);
	(void)wb_config_get_double(run, "optimizer.momentum", &c->momentum);
	(void)wb_config_get_int(run, "model.hidden", &hidden);
	(void)wb_config_get_int(run, "batch_size", &batch);
	(void)wb_config_get_int(run, "epochs", &epochs);
	if (!(c->lr > 0 && c->lr < 10) || !(c->momentum >= 0 && c->momentum < 1) || hidden < 1 || hidden > 4096 ||
	    batch < 1 || batch > 60000 || epochs < 1 || epochs > 1000) {
		fprintf(stderr, PROG ": config out of range: lr %g, momentum %g, hidden %lld, batch %lld, epochs %lld\n",
			c->lr, c->momentum, (long long)hidden, (long long)batch, (long long)epochs);
		return -1;
	}
	c->hidden = (int)hidden;
	c->batch = (int)batch;
	c->epochs = (int)epochs;
	return 0;
}

/* The run's strings are the SDK's until wb_run_finish; keep copies for after it. */
static char *dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

static const char *or_unknown(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : "?";
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
	config c = {.epochs = 10, .lr = 0.05, .momentum = 0.9, .batch = 64, .hidden = 128, .seed = 1,
		    .data_dir = DEFAULT_DATA_DIR};
	wb_init_options opts = WB_INIT_OPTIONS_INIT;
	dataset train = {0}, test = {0};
	mlp m = {0};
	wb_run *run = NULL;
	char *url = NULL, *run_dir = NULL;
	long *order = NULL, n_train, val_first, steps_per_epoch, total_steps, step = 0;
	uint64_t rng;
	double t0, test_loss, test_acc;
	int rc, exit_code = 1;

	rc = parse_args(argc, argv, &c);
	if (rc != 0)
		return rc > 0 ? 0 : 2;

	/* Data first: a trainer that cannot read its data starts no run. */
	if (dataset_load(c.data_dir, "train", &train) != 0 || dataset_load(c.data_dir, "t10k", &test) != 0)
		goto done;
	if (train.n <= NVAL) {
		fprintf(stderr, PROG ": %s: %ld training images, need more than %d\n", c.data_dir, train.n, NVAL);
		goto done;
	}
	val_first = train.n - NVAL;
	n_train = val_first;
	if (c.limit > 0 && c.limit < n_train)
		n_train = c.limit;

	/*
	 * NULL fields come from WB_* in the environment. The project has a
	 * default of its own, which must not hide WB_PROJECT: set it only when
	 * neither the flag nor the environment chose one.
	 */
	opts.project = c.project;
	if (opts.project == NULL && getenv("WB_PROJECT") == NULL)
		opts.project = DEFAULT_PROJECT;
	opts.name = c.name;
	rc = wb_run_init(&run, &opts);
	if (rc != WB_OK) {
		wb_check(rc, "init");
		fprintf(stderr, PROG ": training without tracking\n");
		run = NULL;
	} else {
		url = dup_or_null(wb_run_url(run));
		run_dir = dup_or_null(wb_run_dir(run));
		if (url == NULL || url[0] == '\0') {
			/* a disabled run (WB_MODE=disabled) has no id, page or directory */
			printf("wb: tracking is disabled\n");
		} else {
			printf("wb: run %s (%s)\n", or_unknown(wb_run_name(run)), or_unknown(wb_run_id(run)));
			printf("wb: view run at %s\n", url);
			printf("wb: run log in %s\n", or_unknown(run_dir));
		}
	}
	log_config(run, &c, n_train);
	/* Under a sweep the trial's parameters are the config, and win over the
	 * defaults just set: read back what the model is built with. */
	if (config_readback(run, &c) != 0)
		goto done;

	rng = c.seed;
	order = malloc((size_t)n_train * sizeof(*order));
	if (order == NULL || mlp_init(&m, c.hidden, &rng) != 0) {
		fprintf(stderr, PROG ": out of memory\n");
		goto done;
	}
	for (long i = 0; i < n_train; i++)
		order[i] = i;

	printf("training on %ld images, validating on %d, testing on %ld: %d-%d-%d MLP, "
	       "lr %g, momentum %g, batch %d, epochs %d, seed %llu\n",
	       n_train, NVAL, test.n, NPIX, c.hidden, NCLASS, c.lr, c.momentum, c.batch, c.epochs,
	       (unsigned long long)c.seed);
	fflush(stdout);

	steps_per_epoch = (n_train + c.batch - 1) / c.batch;
	total_steps = steps_per_epoch * c.epochs;
	t0 = now_seconds();
	for (int epoch = 1; epoch <= c.epochs; epoch++) {
		double ep_loss = 0.0, val_loss, val_acc;
		long ep_correct = 0;

		/* Fisher-Yates shuffle of the training order */
		for (long i = n_train - 1; i > 0; i--) {
			long j = rng_below(&rng, i + 1), t = order[i];
			order[i] = order[j];
			order[j] = t;
		}

		for (long start = 0; start < n_train; start += c.batch) {
			long end = start + c.batch < n_train ? start + c.batch : n_train, correct = 0;
			float scale = 1.0f / (float)(end - start), prob[NCLASS];
			/* cosine decay from lr to 0 over the whole run */
			double lr = 0.5 * c.lr * (1.0 + cos(3.141592653589793 * (double)step / (double)total_steps));
			double loss = 0.0;

			for (long b = start; b < end; b++) {
				const uint8_t *img = train.images + (size_t)order[b] * NPIX;
				int y = train.labels[order[b]];
				loss += mlp_forward(&m, img, y, prob);
				correct += argmax(prob) == y;
				mlp_backward(&m, img, y, prob, scale);
			}
			mlp_update(&m, (float)lr, (float)c.momentum);
			ep_loss += loss;
			ep_correct += correct;
			loss /= (double)(end - start);
			if (run != NULL)
				wb_check(WB_LOG(run, WB_STEP_AUTO, {"train/loss", loss},
						{"train/acc", (double)correct / (double)(end - start)}, {"train/lr", lr}),
					 "log train");
			step++;
		}

		mlp_evaluate(&m, &train, val_first, NVAL, &val_loss, &val_acc);
		if (run != NULL) {
			/* At the step of the epoch's last mini-batch; "epoch" is the x-axis of val/ *. */
			int64_t last = wb_run_step(run);
			wb_check(WB_LOG(run, last < 0 ? 0 : last, {"val/loss", val_loss}, {"val/acc", val_acc},
					{"epoch", epoch}),
				 "log val");
		}
		printf("epoch %2d/%d  train loss %.4f acc %.2f%%  val loss %.4f acc %.2f%%  %.1f s\n", epoch,
		       c.epochs, ep_loss / (double)n_train, 100.0 * (double)ep_correct / (double)n_train,
		       val_loss, 100.0 * val_acc, now_seconds() - t0);
		fflush(stdout);
	}

	mlp_evaluate(&m, &test, 0, test.n, &test_loss, &test_acc);
	printf("test loss %.4f acc %.2f%% (%ld images)\n", test_loss, 100.0 * test_acc, test.n);
	if (run != NULL) {
		wb_check(wb_summary_set_double(run, "test/acc", test_acc), "summary test/acc");
		wb_check(wb_summary_set_double(run, "test/loss", test_loss), "summary test/loss");
		wb_check(wb_summary_set_double(run, "train/seconds", now_seconds() - t0), "summary train/seconds");
		if (wb_run_dropped(run) > 0)
			fprintf(stderr, PROG ": wb: %llu records were dropped\n",
				(unsigned long long)wb_run_dropped(run));
	}
	exit_code = 0;

done:
	if (run != NULL) {
		rc = wb_run_finish(run, exit_code);
		if (rc == WB_ETIMEOUT)
			fprintf(stderr, PROG ": wb: not everything reached the server; upload the rest with "
					"`wb sync %s`\n",
				or_unknown(run_dir));
		else
			wb_check(rc, "finish");
		if (url != NULL && url[0] != '\0')
			printf("View run at %s\n", url);
	}
	if (wb_errors > MAX_WB_ERRORS_SHOWN)
		fprintf(stderr, PROG ": wb: %lu calls failed in all\n", wb_errors);
	free(url);
	free(run_dir);
	free(order);
	mlp_free(&m);
	dataset_free(&train);
	dataset_free(&test);
	return exit_code;
}
