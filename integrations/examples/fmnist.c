/*
 * fmnist.c — Fashion-MNIST IDX loading (zlib) and the MLP of the example
 * trainers (see fmnist.h).
 */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include "fmnist.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define MAX_IMAGES 1000000

/* ------------------------------------------------------------------ */
/* Data: IDX files through zlib                                        */


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
				fprintf(stderr, "fashion-mnist: %s: file is truncated\n", path);
			else
				fprintf(stderr, "fashion-mnist: %s: %s\n", path,
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
		fprintf(stderr, "fashion-mnist: %s/%s: path too long\n", dir, name);
		return -1;
	}
	errno = 0;
	gz = gzopen(path, "rb");
	if (gz == NULL) {
		fprintf(stderr,
			"fashion-mnist: cannot open %s: %s\n"
			"fashion-mnist: install the dataset with `apt-get install dataset-fashion-mnist`, or pass --data DIR\n",
			path, errno != 0 ? strerror(errno) : "out of memory");
		return -1;
	}
	if (gz_read_all(gz, path, hdr, hdr_len) != 0)
		goto done;
	if (be32(hdr) != magic) {
		fprintf(stderr, "fashion-mnist: %s: not an IDX %s file (magic 0x%08x, expected 0x%08x)\n", path,
			magic == 0x803 ? "image" : "label", (unsigned)be32(hdr), (unsigned)magic);
		goto done;
	}
	n = be32(hdr + 4);
	if (n == 0 || n > MAX_IMAGES) {
		fprintf(stderr, "fashion-mnist: %s: implausible item count %u\n", path, (unsigned)n);
		goto done;
	}
	if (magic == 0x803 && (be32(hdr + 8) != 28 || be32(hdr + 12) != 28)) {
		fprintf(stderr, "fashion-mnist: %s: images are %ux%u, expected 28x28\n", path, (unsigned)be32(hdr + 8),
			(unsigned)be32(hdr + 12));
		goto done;
	}
	buf = malloc((size_t)n * item);
	if (buf == NULL) {
		fprintf(stderr, "fashion-mnist: %s: out of memory\n", path);
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

void dataset_free(dataset *d)
{
	free(d->images);
	free(d->labels);
	d->images = d->labels = NULL;
	d->n = 0;
}

/* Load <dir>/<prefix>-images-idx3-ubyte.gz and its labels into *d. */
int dataset_load(const char *dir, const char *prefix, dataset *d)
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
		fprintf(stderr, "fashion-mnist: %s/%s has %ld images but %s has %ld labels\n", dir, img_name, n_img,
			lbl_name, n_lbl);
		goto fail;
	}
	for (long i = 0; i < n_lbl; i++) {
		if (d->labels[i] >= NCLASS) {
			fprintf(stderr, "fashion-mnist: %s/%s: label %u at index %ld is out of range\n", dir, lbl_name,
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

uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* Uniform in (0, 1). */
double rng_uniform(uint64_t *s)
{
	return ((double)(rng_next(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

double rng_normal(uint64_t *s)
{
	double u1 = rng_uniform(s), u2 = rng_uniform(s);
	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Uniform in [0, n), n > 0 (the modulo bias is below 2^-40 for our n). */
long rng_below(uint64_t *s, long n)
{
	return (long)(rng_next(s) % (uint64_t)n);
}

/* ------------------------------------------------------------------ */
/* The model                                                           */


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

void mlp_free(mlp *m)
{
	float **all[] = {&m->w1, &m->b1, &m->w2, &m->b2, &m->grad, &m->vw1, &m->vb1, &m->vw2, &m->vb2, &m->h, &m->dh};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		free(*all[i]);
		*all[i] = NULL;
	}
	m->gw1 = m->gb1 = m->gw2 = m->gb2 = NULL;
}

/* He initialisation (N(0, 2/fan_in)) of both layers, zero biases. */
int mlp_init(mlp *m, int hidden, uint64_t *rng)
{
	int padded = (hidden + LANES - 1) / LANES * LANES;
	size_t n1 = (size_t)NPIX * (size_t)padded, n2 = (size_t)padded * NCLASS, nh = (size_t)padded;
	double s1 = sqrt(2.0 / NPIX), s2 = sqrt(2.0 / hidden);

	memset(m, 0, sizeof(*m));
	m->hidden = padded;
	m->w1 = calloc(n1, sizeof(float));
	m->ngrad = n1 + nh + n2 + NCLASS;
	m->grad = calloc(m->ngrad, sizeof(float));
	m->vw1 = calloc(n1, sizeof(float));
	m->w2 = calloc(n2, sizeof(float));
	m->vw2 = calloc(n2, sizeof(float));
	m->b1 = calloc(nh, sizeof(float));
	m->vb1 = calloc(nh, sizeof(float));
	m->h = calloc(nh, sizeof(float));
	m->dh = calloc(nh, sizeof(float));
	m->b2 = calloc(NCLASS, sizeof(float));
	m->vb2 = calloc(NCLASS, sizeof(float));
	if (m->grad) { /* one buffer, so that data-parallel training reduces it in one call */
		m->gw1 = m->grad;
		m->gb1 = m->gw1 + n1;
		m->gw2 = m->gb1 + nh;
		m->gb2 = m->gw2 + n2;
	}
	if (!m->w1 || !m->grad || !m->vw1 || !m->w2 || !m->vw2 || !m->b1 || !m->vb1 ||
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
double mlp_forward(mlp *m, const uint8_t *img, int label, float prob[NCLASS])
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

int argmax(const float p[NCLASS])
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
void mlp_backward(mlp *m, const uint8_t *img, int label, const float prob[NCLASS], float scale)
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

void mlp_update(mlp *m, float lr, float momentum)
{
	size_t H = (size_t)m->hidden;

	sgd_step(m->w1, m->vw1, m->gw1, NPIX * H, lr, momentum);
	sgd_step(m->b1, m->vb1, m->gb1, H, lr, momentum);
	sgd_step(m->w2, m->vw2, m->gw2, H * NCLASS, lr, momentum);
	sgd_step(m->b2, m->vb2, m->gb2, NCLASS, lr, momentum);
}

/* Mean loss and accuracy over images [first, first + n) of d. */
void mlp_evaluate(mlp *m, const dataset *d, long first, long n, double *loss, double *acc)
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

