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
 *    trainer carries on. If wb_init itself fails, the trainer runs without
 *    tracking.
 */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include "wb.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#define PROG "fashion_mnist"
#define DEFAULT_DATA_DIR "/usr/share/datasets/fashion-mnist"
#define DEFAULT_PROJECT "fashion-mnist"
#define NPIX 784 /* 28 x 28 */
#define NCLASS 10
#define NVAL 5000 /* the last NVAL training images are the validation set */
#define MAX_IMAGES 1000000
#define MAX_WB_ERRORS_SHOWN 5

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
/* Data: IDX files through zlib                                        */

typedef struct dataset {
	uint8_t *images; /* n * NPIX, row-major */
	uint8_t *labels; /* n, each < NCLASS */
	long n;
} dataset;

/* Read exactly len bytes. Returns 0, or -1 with a message naming path. */
static int gz_read_all(gzFile gz, const char *path, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len > 0) {
		unsigned int chunk = len > (1u << 24) ? (1u << 24) : (unsigned int)len;
		int got = gzread(gz, p, chunk);
		if (got <= 0) {
			int zerr = Z_OK;
			const char *msg = gzerror(gz, &zerr);
			if (got == 0 || zerr == Z_OK || zerr == Z_BUF_ERROR)
				fprintf(stderr, PROG ": %s: file is truncated\n", path);
			else
				fprintf(stderr, PROG ": %s: %s\n", path,
					zerr == Z_ERRNO ? strerror(errno) : msg);
			return -1;
		}
		p += got;
		len -= (size_t)got;
	}
	return 0;
}

static uint32_t be32(const uint8_t b[4])
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

/*
 * Read one gzip-compressed IDX file, <dir>/<name>. magic is 0x803 for
 * images (count, 28, 28) and 0x801 for labels (count). On success *data is
 * a malloc'ed array the caller frees and *count the number of items.
 */
static int read_idx(const char *dir, const char *name, uint32_t magic, uint8_t **data, long *count)
{
	char path[4096];
	uint8_t hdr[16];
	size_t hdr_len = magic == 0x803 ? 16 : 8, item = magic == 0x803 ? NPIX : 1;
	uint8_t *buf = NULL;
	gzFile gz = NULL;
	uint32_t n;
	int rc = -1;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path)) {
		fprintf(stderr, PROG ": %s/%s: path too long\n", dir, name);
		return -1;
	}
	errno = 0;
	gz = gzopen(path, "rb");
	if (gz == NULL) {
		fprintf(stderr,
			PROG ": cannot open %s: %s\n" PROG
			": install the dataset with `apt-get install dataset-fashion-mnist`, or pass --data DIR\n",
			path, errno != 0 ? strerror(errno) : "out of memory");
		return -1;
	}
	if (gz_read_all(gz, path, hdr, hdr_len) != 0)
		goto done;
	if (be32(hdr) != magic) {
		fprintf(stderr, PROG ": %s: not an IDX %s file (magic 0x%08x, expected 0x%08x)\n", path,
			magic == 0x803 ? "image" : "label", (unsigned)be32(hdr), (unsigned)magic);
		goto done;
	}
	n = be32(hdr + 4);
	if (n == 0 || n > MAX_IMAGES) {
		fprintf(stderr, PROG ": %s: implausible item count %u\n", path, (unsigned)n);
		goto done;
	}
	if (magic == 0x803 && (be32(hdr + 8) != 28 || be32(hdr + 12) != 28)) {
		fprintf(stderr, PROG ": %s: images are %ux%u, expected 28x28\n", path, (unsigned)be32(hdr + 8),
			(unsigned)be32(hdr + 12));
		goto done;
	}
	buf = malloc((size_t)n * item);
	if (buf == NULL) {
		fprintf(stderr, PROG ": %s: out of memory\n", path);
		goto done;
	}
	if (gz_read_all(gz, path, buf, (size_t)n * item) != 0)
		goto done;
	*data = buf;
	*count = (long)n;
	buf = NULL;
	rc = 0;
done:
	free(buf);
	gzclose(gz);
	return rc;
}

static void dataset_free(dataset *d)
{
	free(d->images);
	free(d->labels);
	d->images = d->labels = NULL;
	d->n = 0;
}

/* Load <dir>/<prefix>-images-idx3-ubyte.gz and its labels into *d. */
static int dataset_load(const char *dir, const char *prefix, dataset *d)
{
	char img_name[64], lbl_name[64];
	long n_img = 0, n_lbl = 0;

	snprintf(img_name, sizeof(img_name), "%s-images-idx3-ubyte.gz", prefix);
	snprintf(lbl_name, sizeof(lbl_name), "%s-labels-idx1-ubyte.gz", prefix);
	memset(d, 0, sizeof(*d));
	if (read_idx(dir, img_name, 0x803, &d->images, &n_img) != 0 ||
	    read_idx(dir, lbl_name, 0x801, &d->labels, &n_lbl) != 0)
		goto fail;
	if (n_img != n_lbl) {
		fprintf(stderr, PROG ": %s/%s has %ld images but %s has %ld labels\n", dir, img_name, n_img,
			lbl_name, n_lbl);
		goto fail;
	}
	for (long i = 0; i < n_lbl; i++) {
		if (d->labels[i] >= NCLASS) {
			fprintf(stderr, PROG ": %s/%s: label %u at index %ld is out of range\n", dir, lbl_name,
				(unsigned)d->labels[i], i);
			goto fail;
		}
	}
	d->n = n_img;
	return 0;
fail:
	dataset_free(d);
	return -1;
}

/* ------------------------------------------------------------------ */
/* Random numbers: splitmix64, reproducible everywhere                 */

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* Uniform in (0, 1). */
static double rng_uniform(uint64_t *s)
{
	return ((double)(rng_next(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

static double rng_normal(uint64_t *s)
{
	double u1 = rng_uniform(s), u2 = rng_uniform(s);
	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Uniform in [0, n), n > 0 (the modulo bias is below 2^-40 for our n). */
static long rng_below(uint64_t *s, long n)
{
	return (long)(rng_next(s) % (uint64_t)n);
}

/* ------------------------------------------------------------------ */
/* The model                                                           */

#define LANES 8 /* the hidden layer is padded to a multiple of this */

/*
 * Weights are row-major with the output index innermost: w1[i * hidden + j]
 * connects pixel i to hidden unit j, w2[j * NCLASS + k] hidden unit j to
 * class k. Then the forward pass and both weight gradients are loops over
 * contiguous rows (axpy), which the compiler vectorises.
 *
 * hidden is the requested size rounded up to a multiple of LANES. The
 * padding units start with all-zero weights, so their activation is 0, ReLU
 * passes no gradient, and they stay zero: the model is exactly the
 * requested one.
 */
typedef struct mlp {
	int hidden; /* padded */
	float *w1, *b1, *w2, *b2;     /* parameters */
	float *gw1, *gb1, *gw2, *gb2; /* gradients of the current mini-batch */
	float *vw1, *vb1, *vw2, *vb2; /* momentum buffers */
	float *h, *dh;                /* scratch: hidden activations and their gradient */
} mlp;

static void mlp_free(mlp *m)
{
	float **all[] = {&m->w1, &m->b1, &m->w2, &m->b2, &m->gw1, &m->gb1, &m->gw2,
			 &m->gb2, &m->vw1, &m->vb1, &m->vw2, &m->vb2, &m->h, &m->dh};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		free(*all[i]);
		*all[i] = NULL;
	}
}

/* He initialisation (N(0, 2/fan_in)) of both layers, zero biases. */
static int mlp_init(mlp *m, int hidden, uint64_t *rng)
{
	int padded = (hidden + LANES - 1) / LANES * LANES;
	size_t n1 = (size_t)NPIX * (size_t)padded, n2 = (size_t)padded * NCLASS, nh = (size_t)padded;
	double s1 = sqrt(2.0 / NPIX), s2 = sqrt(2.0 / hidden);

	memset(m, 0, sizeof(*m));
	m->hidden = padded;
	m->w1 = calloc(n1, sizeof(float));
	m->gw1 = calloc(n1, sizeof(float));
	m->vw1 = calloc(n1, sizeof(float));
	m->w2 = calloc(n2, sizeof(float));
	m->gw2 = calloc(n2, sizeof(float));
	m->vw2 = calloc(n2, sizeof(float));
	m->b1 = calloc(nh, sizeof(float));
	m->gb1 = calloc(nh, sizeof(float));
	m->vb1 = calloc(nh, sizeof(float));
	m->h = calloc(nh, sizeof(float));
	m->dh = calloc(nh, sizeof(float));
	m->b2 = calloc(NCLASS, sizeof(float));
	m->gb2 = calloc(NCLASS, sizeof(float));
	m->vb2 = calloc(NCLASS, sizeof(float));
	if (!m->w1 || !m->gw1 || !m->vw1 || !m->w2 || !m->gw2 || !m->vw2 || !m->b1 || !m->gb1 || !m->vb1 ||
	    !m->h || !m->dh || !m->b2 || !m->gb2 || !m->vb2) {
		mlp_free(m);
		return -1;
	}
	for (size_t i = 0; i < NPIX; i++)
		for (size_t j = 0; j < (size_t)hidden; j++)
			m->w1[i * nh + j] = (float)(s1 * rng_normal(rng));
	for (size_t i = 0; i < (size_t)hidden * NCLASS; i++)
		m->w2[i] = (float)(s2 * rng_normal(rng));
	return 0;
}

/* y += a * x over n floats, n a multiple of LANES. */
static void axpy(float *restrict y, const float *restrict x, float a, int n)
{
	for (int j = 0; j < n; j += LANES)
		for (int t = 0; t < LANES; t++)
			y[j + t] += a * x[j + t];
}

/*
 * Forward pass of one image: fills m->h (post-ReLU) and prob (softmax).
 * Returns the cross-entropy loss against label.
 */
static double mlp_forward(mlp *m, const uint8_t *img, int label, float prob[NCLASS])
{
	const int H = m->hidden;
	float *restrict h = m->h;
	float logit[NCLASS], max;
	double sum = 0.0;

	memcpy(h, m->b1, (size_t)H * sizeof(float));
	for (int i = 0; i < NPIX; i++) {
		if (img[i] == 0)
			continue;
		axpy(h, m->w1 + (size_t)i * (size_t)H, (float)img[i] * (1.0f / 255.0f), H);
	}
	for (int k = 0; k < NCLASS; k++)
		logit[k] = m->b2[k];
	for (int j = 0; j < H; j++) {
		if (h[j] <= 0.0f) {
			h[j] = 0.0f;
			continue;
		}
		const float *restrict row = m->w2 + (size_t)j * NCLASS;
		for (int k = 0; k < NCLASS; k++)
			logit[k] += h[j] * row[k];
	}
	max = logit[0];
	for (int k = 1; k < NCLASS; k++)
		if (logit[k] > max)
			max = logit[k];
	for (int k = 0; k < NCLASS; k++) {
		prob[k] = expf(logit[k] - max);
		sum += prob[k];
	}
	for (int k = 0; k < NCLASS; k++)
		prob[k] = (float)(prob[k] / sum);
	/* -log softmax, computed from the logits so that it never sees log(0) */
	return -(double)(logit[label] - max) + log(sum);
}

static int argmax(const float p[NCLASS])
{
	int best = 0;
	for (int k = 1; k < NCLASS; k++)
		if (p[k] > p[best])
			best = k;
	return best;
}

/*
 * Accumulate into the gradients the backward pass of the image whose
 * forward pass just ran (m->h and prob still hold its activations). scale
 * is 1 / batch size, so the gradients are those of the mean loss.
 */
static void mlp_backward(mlp *m, const uint8_t *img, int label, const float prob[NCLASS], float scale)
{
	const int H = m->hidden;
	const float *restrict h = m->h;
	float *restrict dh = m->dh;
	float dl[NCLASS];

	for (int k = 0; k < NCLASS; k++) {
		dl[k] = (prob[k] - (k == label ? 1.0f : 0.0f)) * scale;
		m->gb2[k] += dl[k];
	}
	for (int j = 0; j < H; j++) {
		float *restrict grow = m->gw2 + (size_t)j * NCLASS;
		const float *restrict wrow = m->w2 + (size_t)j * NCLASS;
		float d = 0.0f;
		if (h[j] <= 0.0f) { /* ReLU: no gradient flows through a dead unit */
			dh[j] = 0.0f;
			continue;
		}
		for (int k = 0; k < NCLASS; k++) {
			grow[k] += h[j] * dl[k];
			d += wrow[k] * dl[k];
		}
		dh[j] = d;
	}
	for (int j = 0; j < H; j++)
		m->gb1[j] += dh[j];
	for (int i = 0; i < NPIX; i++) {
		if (img[i] == 0)
			continue;
		axpy(m->gw1 + (size_t)i * (size_t)H, dh, (float)img[i] * (1.0f / 255.0f), H);
	}
}

/* v = momentum * v - lr * g; w += v; g = 0. */
static void sgd_step(float *restrict w, float *restrict v, float *restrict g, size_t n, float lr, float momentum)
{
	for (size_t i = 0; i < n; i++) {
		v[i] = momentum * v[i] - lr * g[i];
		w[i] += v[i];
		g[i] = 0.0f;
	}
}

static void mlp_update(mlp *m, float lr, float momentum)
{
	size_t H = (size_t)m->hidden;

	sgd_step(m->w1, m->vw1, m->gw1, NPIX * H, lr, momentum);
	sgd_step(m->b1, m->vb1, m->gb1, H, lr, momentum);
	sgd_step(m->w2, m->vw2, m->gw2, H * NCLASS, lr, momentum);
	sgd_step(m->b2, m->vb2, m->gb2, NCLASS, lr, momentum);
}

/* Mean loss and accuracy over images [first, first + n) of d. */
static void mlp_evaluate(mlp *m, const dataset *d, long first, long n, double *loss, double *acc)
{
	double total = 0.0;
	long correct = 0;
	float prob[NCLASS];

	for (long i = first; i < first + n; i++) {
		int y = d->labels[i];
		total += mlp_forward(m, d->images + (size_t)i * NPIX, y, prob);
		correct += argmax(prob) == y;
	}
	*loss = total / (double)n;
	*acc = (double)correct / (double)n;
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
	wb_check(wb_define_metric(run, "val/*", "epoch", WB_SUMMARY_MAX | WB_SUMMARY_LAST), "define_metric val/*");
	wb_check(wb_define_metric(run, "train/loss", NULL, WB_SUMMARY_MIN | WB_SUMMARY_LAST),
		 "define_metric train/loss");
}

/* The run's strings are the SDK's until wb_finish; keep copies for after it. */
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

	rng = c.seed;
	order = malloc((size_t)n_train * sizeof(*order));
	if (order == NULL || mlp_init(&m, c.hidden, &rng) != 0) {
		fprintf(stderr, PROG ": out of memory\n");
		goto done;
	}
	for (long i = 0; i < n_train; i++)
		order[i] = i;

	/*
	 * NULL fields come from WB_* in the environment. The project has a
	 * default of its own, which must not hide WB_PROJECT: set it only when
	 * neither the flag nor the environment chose one.
	 */
	opts.project = c.project;
	if (opts.project == NULL && getenv("WB_PROJECT") == NULL)
		opts.project = DEFAULT_PROJECT;
	opts.name = c.name;
	rc = wb_init(&run, &opts);
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
		rc = wb_finish(run, exit_code);
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
