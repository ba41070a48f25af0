/*
 * fmnist.h — the Fashion-MNIST data and the small MLP shared by the example
 * trainers (fashion_mnist.c, and the data-parallel integrations/mpi one).
 *
 * Plain C, one thread, no BLAS, so that the examples build anywhere libwb
 * builds; see fmnist.c for how it is made fast.
 */
#ifndef WB_EXAMPLE_FMNIST_H
#define WB_EXAMPLE_FMNIST_H

#include <stddef.h>
#include <stdint.h>

#define NPIX 784 /* 28 x 28 */
#define NCLASS 10
#define LANES 8  /* the hidden layer is padded to a multiple of this */
#define FMNIST_DEFAULT_DIR "/usr/share/datasets/fashion-mnist"

typedef struct dataset {
	uint8_t *images; /* n * NPIX, row-major */
	uint8_t *labels; /* n, each < NCLASS */
	long n;
} dataset;

/* Load <dir>/<prefix>-{images-idx3,labels-idx1}-ubyte.gz ("train" or
 * "t10k"). Returns 0, or -1 with a message on stderr. */
int dataset_load(const char *dir, const char *prefix, dataset *d);
void dataset_free(dataset *d);

/* splitmix64: reproducible random numbers everywhere. */
uint64_t rng_next(uint64_t *s);
double rng_uniform(uint64_t *s); /* in (0, 1) */
double rng_normal(uint64_t *s);
long rng_below(uint64_t *s, long n); /* in [0, n), n > 0 */

typedef struct mlp {
	int hidden; /* padded */
	float *w1, *b1, *w2, *b2;     /* parameters */
	float *grad;                  /* gradients of the current mini-batch, ngrad floats: */
	size_t ngrad;
	float *gw1, *gb1, *gw2, *gb2; /* views into grad */
	float *vw1, *vb1, *vw2, *vb2; /* momentum buffers */
	float *h, *dh;                /* scratch: hidden activations and their gradient */
} mlp;

/* He-initialised 784-hidden-10 MLP. Returns 0 or -1 (out of memory). */
int mlp_init(mlp *m, int hidden, uint64_t *rng);
void mlp_free(mlp *m);
/* Forward pass of one image: class probabilities and the loss. */
double mlp_forward(mlp *m, const uint8_t *img, int label, float prob[NCLASS]);
int argmax(const float p[NCLASS]);
/* Add scale * the gradient of the last forward pass to m->grad. */
void mlp_backward(mlp *m, const uint8_t *img, int label, const float prob[NCLASS], float scale);
/* SGD with momentum from m->grad, which is then zeroed. */
void mlp_update(mlp *m, float lr, float momentum);
/* Mean loss and accuracy over images [first, first + n) of d. */
void mlp_evaluate(mlp *m, const dataset *d, long first, long n, double *loss, double *acc);

#endif
