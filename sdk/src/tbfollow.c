/*
 * tbfollow.c — wb_tensorboard_follow: log what a TensorBoard writer puts in
 * a directory into the run, while it trains.
 *
 * A background thread wakes every period, looks for event files under the
 * directory (new files appear when a writer restarts), reads each from
 * where it stopped last time up to its current size, and hands the
 * complete records to the reader (tbevents.c); a record still being
 * written is left for the next pass. Values are logged through the public
 * calls (wb_log, wb_log_histogram_bins, wb_log_image) at the event's step,
 * so they obey the run's step rule like anything the trainer logs: a value
 * at a step below the run's last step is refused and counted. A file in a
 * subdirectory logs its tags under "<subdirectory>/". wb_finish stops the
 * thread after one last pass, before the run's FINISH record, and prints
 * one warning if anything was skipped.
 */
#include "tbfollow.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "run.h"
#include "tbevents.h"

#define PASS_MAX_BYTES (64u << 20) /* read per file and pass */
#define FILES_MAX 1024u
#define DEPTH_MAX 8

typedef struct tbfile {
	char *path;
	char prefix[WB__KEY_MAX + 1]; /* "" or "<subdir>/" */
	off_t off;
} tbfile;

struct wb__tbfollow {
	wb_run *run;
	char *logdir;
	unsigned int period_ms;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop; /* guarded by mu */
	tbfile *files;
	size_t nfiles;
	wb__tb_report rep;
	uint64_t refused;           /* values the run refused (a step going back, a key too long) */
	const char *prefix;         /* of the file being read */
};

static int key_of(struct wb__tbfollow *f, const char *tag, char *key)
{
	if ((size_t)snprintf(key, WB__KEY_MAX + 1, "%s%s", f->prefix, tag) > WB__KEY_MAX) {
		f->refused++;
		return -1;
	}
	return 0;
}

static int on_scalar(void *arg, double wall, int64_t step, const char *tag, double value)
{
	struct wb__tbfollow *f = arg;
	char key[WB__KEY_MAX + 1];
	wb_metric m = {key, value};

	(void)wall;
	if (!key_of(f, tag, key) && wb_log(f->run, &m, 1, step) != WB_OK)
		f->refused++;
	return 0;
}

static int on_hist(void *arg, double wall, int64_t step, const char *tag, const double *edges, const double *counts,
		   size_t nbins)
{
	struct wb__tbfollow *f = arg;
	char key[WB__KEY_MAX + 1];

	(void)wall;
	if (!key_of(f, tag, key) && wb_log_histogram_bins(f->run, key, edges, counts, nbins, step) != WB_OK)
		f->refused++;
	return 0;
}

static int on_image(void *arg, double wall, int64_t step, const char *tag, const uint8_t *bytes, size_t len)
{
	struct wb__tbfollow *f = arg;
	char key[WB__KEY_MAX + 1];

	(void)wall;
	if (!key_of(f, tag, key) && wb_log_image(f->run, key, bytes, len, NULL, step) != WB_OK)
		f->refused++;
	return 0;
}

/* Register the event files under dir (rel: its path below the logdir, "" at the top). */
static void discover(struct wb__tbfollow *f, const char *dir, const char *rel, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[PATH_MAX], sub[PATH_MAX];
		struct stat st;
		size_t i;

		if (e->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= sizeof path || lstat(path, &st))
			continue;
		if (S_ISDIR(st.st_mode) && depth < DEPTH_MAX) {
			if ((size_t)snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", e->d_name) < sizeof sub)
				discover(f, path, sub, depth + 1);
			continue;
		}
		if (!S_ISREG(st.st_mode) || !strstr(e->d_name, "tfevents"))
			continue;
		for (i = 0; i < f->nfiles && strcmp(f->files[i].path, path) != 0; i++)
			;
		if (i < f->nfiles || f->nfiles >= FILES_MAX)
			continue;
		{
			tbfile *p = realloc(f->files, (f->nfiles + 1) * sizeof(*p));
			if (!p)
				continue;
			f->files = p;
			memset(&p[f->nfiles], 0, sizeof(*p));
			if (!(p[f->nfiles].path = strdup(path)))
				continue;
			if (*rel)
				snprintf(p[f->nfiles].prefix, sizeof p[f->nfiles].prefix, "%s/", rel);
			f->nfiles++;
		}
	}
	closedir(d);
}

/* One pass: new files, then each file's new complete records. */
static void pass(struct wb__tbfollow *f)
{
	wb__tb_sink sink = {f, on_scalar, on_hist, on_image};

	discover(f, f->logdir, "", 0);
	for (size_t i = 0; i < f->nfiles; i++) {
		tbfile *t = &f->files[i];
		int fd = open(t->path, O_RDONLY | O_CLOEXEC);
		struct stat st;
		uint8_t *buf = NULL;
		size_t want, got = 0, used = 0;

		if (fd < 0)
			continue;
		if (fstat(fd, &st) || st.st_size <= t->off) {
			close(fd);
			continue;
		}
		want = (size_t)(st.st_size - t->off);
		if (want > PASS_MAX_BYTES)
			want = PASS_MAX_BYTES;
		if ((buf = malloc(want))) {
			while (got < want) {
				ssize_t r = pread(fd, buf + got, want - got, t->off + (off_t)got);
				if (r < 0 && errno == EINTR)
					continue;
				if (r <= 0)
					break;
				got += (size_t)r;
			}
			f->prefix = t->prefix;
			wb__tb_read_some(buf, got, &sink, &f->rep, &used);
			t->off += (off_t)used;
		}
		free(buf);
		close(fd);
	}
}

static void *follow_main(void *arg)
{
	struct wb__tbfollow *f = arg;
	struct timespec ts;
	int stop;

	for (;;) {
		pass(f);
		pthread_mutex_lock(&f->mu);
		if (!f->stop) {
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += f->period_ms / 1000;
			ts.tv_nsec += (long)(f->period_ms % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&f->cv, &f->mu, &ts);
		}
		stop = f->stop;
		pthread_mutex_unlock(&f->mu);
		if (stop)
			break;
	}
	pass(f); /* what was written up to wb_finish */
	return NULL;
}

static void follow_free(struct wb__tbfollow *f)
{
	for (size_t i = 0; i < f->nfiles; i++)
		free(f->files[i].path);
	free(f->files);
	free(f->logdir);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv);
	free(f);
}

int wb_run_follow_tensorboard(wb_run *run, const char *logdir, unsigned int period_ms)
{
	struct wb__tbfollow *f, *none = NULL;
	pthread_condattr_t ca;
	struct stat st;

	if (!run || !logdir)
		return wb__error(WB_EINVAL, "wb_tensorboard_follow: run and logdir must not be NULL");
	if (stat(logdir, &st) || !S_ISDIR(st.st_mode))
		return wb__error(WB_EINVAL, "wb_tensorboard_follow: %s is not a directory", logdir);
	if (run->mode == WB_MODE_DISABLED)
		return WB_OK;
	if (!(f = calloc(1, sizeof(*f))) || !(f->logdir = strdup(logdir))) {
		free(f);
		return wb__error(WB_ENOMEM, "out of memory");
	}
	f->run = run;
	f->period_ms = period_ms ? period_ms : 1000;
	pthread_mutex_init(&f->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&f->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (!atomic_compare_exchange_strong(&run->tbfollow, &none, f)) {
		follow_free(f);
		return wb__error(WB_ESTATE, "wb_tensorboard_follow: the run already follows a directory");
	}
	if (pthread_create(&f->thread, NULL, follow_main, f)) {
		atomic_store(&run->tbfollow, NULL);
		follow_free(f);
		return wb__error(WB_ENOMEM, "wb_tensorboard_follow: cannot start a thread");
	}
	return WB_OK;
}

void wb__tbfollow_stop(wb_run *run)
{
	struct wb__tbfollow *f = atomic_exchange(&run->tbfollow, NULL);
	uint64_t skipped = 0;

	if (!f)
		return;
	pthread_mutex_lock(&f->mu);
	f->stop = 1;
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
	pthread_join(f->thread, NULL);
	for (int i = 0; i < WB__TB_SKIP_COUNT; i++)
		skipped += f->rep.skipped[i];
	if (skipped || f->refused)
		wb__warn("tensorboard %s: %llu records or values skipped (unreadable or not importable), %llu refused "
			 "by the run (a step below the last one, a key too long)",
			 f->logdir, (unsigned long long)skipped, (unsigned long long)f->refused);
	follow_free(f);
}
