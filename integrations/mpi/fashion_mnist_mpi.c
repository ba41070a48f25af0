/*
 * fashion_mnist_mpi.c — the Fashion-MNIST example as data-parallel SGD over
 * MPI, every rank tracked by wb.
 *
 *   mpirun --oversubscribe -np 4 ./fashion_mnist_mpi
 *   srun -n 4 ./fashion_mnist_mpi                 (under Slurm)
 *
 * Each rank holds the whole model, takes its own slice of every global
 * mini-batch (the same shuffled order on every rank, from the same seed),
 * computes the gradient of its slice, and MPI_Allreduce sums the gradients
 * so that every rank applies the same update. The code does nothing
 * distributed for wb: libwb reads the launcher's environment (OMPI_*,
 * PMI_*, SLURM_*), so the ranks land as one group named after the job, one
 * run per rank, each logging its own loss and accuracy.
 */
#include <mpi.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmnist.h"
#include "wb.h"

#define NVAL 5000

typedef struct args {
	int epochs, batch, hidden;
	long limit;
	double lr, momentum;
	unsigned long long seed;
	const char *data_dir, *project;
} args;

static int parse(int argc, char **argv, args *a)
{
	for (int i = 1; i < argc; i++) {
		const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(f, "--help") == 0) {
			printf("usage: fashion_mnist_mpi [--epochs N] [--batch N (per rank)] [--hidden N] [--lr X]\n"
			       "                         [--momentum X] [--seed N] [--limit N] [--data DIR]\n"
			       "                         [--project P]\n");
			return 1;
		}
		if (!v) {
			fprintf(stderr, "fashion_mnist_mpi: %s needs a value\n", f);
			return -1;
		}
		if (strcmp(f, "--epochs") == 0)
			a->epochs = atoi(v);
		else if (strcmp(f, "--batch") == 0)
			a->batch = atoi(v);
		else if (strcmp(f, "--hidden") == 0)
			a->hidden = atoi(v);
		else if (strcmp(f, "--lr") == 0)
			a->lr = atof(v);
		else if (strcmp(f, "--momentum") == 0)
			a->momentum = atof(v);
		else if (strcmp(f, "--seed") == 0)
			a->seed = strtoull(v, NULL, 10);
		else if (strcmp(f, "--limit") == 0)
			a->limit = atol(v);
		else if (strcmp(f, "--data") == 0)
			a->data_dir = v;
		else if (strcmp(f, "--project") == 0)
			a->project = v;
		else {
			fprintf(stderr, "fashion_mnist_mpi: unknown option %s\n", f);
			return -1;
		}
		i++;
	}
	if (a->epochs < 1 || a->batch < 1 || a->hidden < 1 || a->lr <= 0 || a->limit < 0) {
		fprintf(stderr, "fashion_mnist_mpi: bad arguments\n");
		return -1;
	}
	return 0;
}

/* Report a wb error and carry on: tracking never stops training. */
static void check(int rc, const char *what)
{
	if (rc != WB_OK)
		fprintf(stderr, "fashion_mnist_mpi: wb %s: %s: %s\n", what, wb_strerror(rc), wb_errmsg());
}

int main(int argc, char **argv)
{
	args a = {.epochs = 3, .batch = 16, .hidden = 128, .lr = 0.05, .momentum = 0.9, .seed = 1,
		  .data_dir = FMNIST_DEFAULT_DIR, .project = NULL};
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	dataset train = {0}, test = {0};
	mlp m = {0};
	wb_run *run = NULL;
	long *order = NULL, n_train, val_first, global_batch, step = 0, total_steps;
	uint64_t rng;
	int rank, size, rc, exit_code = 1;
	double test_loss, test_acc;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	rc = parse(argc, argv, &a);
	if (rc != 0) {
		MPI_Finalize();
		return rc > 0 ? 0 : 2;
	}
	if (dataset_load(a.data_dir, "train", &train) != 0 || dataset_load(a.data_dir, "t10k", &test) != 0 ||
	    train.n <= NVAL)
		MPI_Abort(MPI_COMM_WORLD, 1);
	val_first = train.n - NVAL;
	n_train = a.limit > 0 && a.limit < val_first ? a.limit : val_first;
	rng = a.seed;
	order = malloc((size_t)n_train * sizeof(*order));
	if (!order || mlp_init(&m, a.hidden, &rng) != 0)
		MPI_Abort(MPI_COMM_WORLD, 1);
	for (long i = 0; i < n_train; i++)
		order[i] = i;

	o.project = a.project;
	if (!o.project && !getenv("WB_PROJECT"))
		o.project = "fashion-mnist-mpi";
	rc = wb_run_init(&run, &o);
	check(rc, "init");
	if (rc != WB_OK)
		run = NULL;
	if (run) {
		check(wb_config_set_double(run, "optimizer.lr", a.lr), "config");
		check(wb_config_set_double(run, "optimizer.momentum", a.momentum), "config");
		check(wb_config_set_int(run, "batch.per_rank", a.batch), "config");
		check(wb_config_set_int(run, "batch.global", (int64_t)a.batch * size), "config");
		check(wb_config_set_int(run, "epochs", a.epochs), "config");
		check(wb_config_set_int(run, "model.hidden", a.hidden), "config");
		check(wb_config_set_int(run, "world_size", size), "config");
		check(wb_run_define_metric(run, "val/*", "epoch", WB_SUMMARY_MAX | WB_SUMMARY_LAST), "define");
		if (rank == 0)
			printf("wb: rank 0 is %s\n", wb_run_url(run));
	}

	global_batch = (long)a.batch * size;
	total_steps = (n_train + global_batch - 1) / global_batch * a.epochs;
	for (int epoch = 1; epoch <= a.epochs; epoch++) {
		double val_loss, val_acc;
		for (long i = n_train - 1; i > 0; i--) { /* the same shuffle on every rank */
			long j = rng_below(&rng, i + 1), t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
		for (long start = 0; start < n_train; start += global_batch) {
			long end = start + global_batch < n_train ? start + global_batch : n_train;
			long lo = start + (long)rank * a.batch, hi = lo + a.batch < end ? lo + a.batch : end;
			float scale = 1.0f / (float)(end - start), prob[NCLASS];
			double lr = 0.5 * a.lr * (1.0 + cos(3.141592653589793 * (double)step / (double)total_steps));
			double loss = 0.0;
			long correct = 0;

			for (long b = lo; b < hi; b++) {
				const uint8_t *img = train.images + (size_t)order[b] * NPIX;
				int y = train.labels[order[b]];
				loss += mlp_forward(&m, img, y, prob);
				correct += argmax(prob) == y;
				mlp_backward(&m, img, y, prob, scale);
			}
			MPI_Allreduce(MPI_IN_PLACE, m.grad, (int)m.ngrad, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
			mlp_update(&m, (float)lr, (float)a.momentum);
			if (run && hi > lo)
				check(WB_LOG(run, step, {"train/loss", loss / (double)(hi - lo)},
					     {"train/acc", (double)correct / (double)(hi - lo)}),
				      "log");
			step++;
		}
		mlp_evaluate(&m, &train, val_first, NVAL, &val_loss, &val_acc);
		if (run)
			check(WB_LOG(run, step - 1, {"val/loss", val_loss}, {"val/acc", val_acc}, {"epoch", epoch}),
			      "log");
		if (rank == 0) {
			printf("epoch %d/%d  val loss %.4f acc %.2f%%\n", epoch, a.epochs, val_loss, 100 * val_acc);
			fflush(stdout);
		}
	}
	mlp_evaluate(&m, &test, 0, test.n, &test_loss, &test_acc);
	if (rank == 0)
		printf("test loss %.4f acc %.2f%% on %d ranks\n", test_loss, 100 * test_acc, size);
	if (run) {
		check(wb_summary_set_double(run, "test/acc", test_acc), "summary");
		check(wb_summary_set_double(run, "test/loss", test_loss), "summary");
	}
	exit_code = 0;
	if (run)
		check(wb_run_finish(run, exit_code), "finish");
	free(order);
	mlp_free(&m);
	dataset_free(&train);
	dataset_free(&test);
	MPI_Finalize();
	return exit_code;
}
