/*
 * tbfollow.c — wb_run_follow_tensorboard: log what a TensorBoard writer puts in
 * a directory into the run, while it trains.
 *
 * A background thread wakes every period, looks for event files under the
 * directory (new files appear when a writer restarts), reads each from
 * where it stopped last time up to its current size, and hands the
 * complete records to the reader (tbevents.c); a record still being
 * written is left for the next pass. Values are logged through the public
 * calls (wb_run_log, wb_run_log_histogram_bins, wb_run_log_image) at the event's step,
 * so they obey the run's step rule like anything the trainer logs: a value
 * at a step below the run's last step is refused and counted. A file in a
 * subdirectory logs its tags under "<subdirectory>/". wb_run_finish stops the
 * thread after one last pass, before the run's FINISH record, and prints
 * one warning if anything was skipped.
 */
/*
 * tbfollow.c — wb_run_follow_tensorboard: log what a TensorBoard writer puts in
 * a directory into the run, while it trains.
 *
 * A background thread wakes every period, looks for event files under the
 * directory (new files appear when a writer restarts, and add_scalars and
 * add_hparams open writers of their own in subdirectories), reads each
 * from where it stopped last time up to its current size, and hands the
 * complete records to the reader (tbevents.c); a record still being
 * written is left for the next pass. Files in subdirectories belong to the
 * same run, their keys given by wb__tb_series_key, the rule `wb tensorboard
 * import` uses too.
 *
 * Merging files. The run's step never goes back (the SDK and the server
 * refuse a lower step), but a TensorBoard directory is several files
 * written by several writers, each buffered and flushed on its own clock
 * (tensorboardX and torch: every 10 events or 120 s). Logging each file as
 * it is read would refuse whatever a later-flushed file holds below the
 * steps already logged. So values wait in a pending list, sorted by step
 * (then by the order read), and a pass logs the prefix that is safe: values
 * at steps no file can still come back below, i.e. at most the smallest
 * "last step read" among the files that grew in the last RELEASE_LAG_S (a
 * writer flushes within 120 s; its first record, the file version, counts
 * as step 0, so a writer that has not flushed data yet holds the others
 * back; an hparams session file, written once, does not), or older than
 * RELEASE_LAG_S by their own wall time. wb_run_finish logs everything left. Each value keeps
 * its event's wall_time as its time (wb__log_at and the media variants).
 * What the run still refuses (a writer that really goes back in step) is
 * counted and said in a warning in the pass that refused it, with the
 * reason; a skipped value is named (tag and plugin) the first time.
 *
 * hparams: session_start_info's hyperparameters become the run's config
 * (number, string, bool), and the session's metric scalars keep their tags;
 * those below the run's last step (add_hparams usually writes them at step
 * 0 after training) become the run's summary value for that key instead of
 * being refused, which is what TensorBoard's hparams table shows for them.
 * Text (add_text) is logged as a table (one column "text").
 */
#include "tbfollow.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
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

#define PASS_MAX_BYTES (64u << 20)    /* read per file and pass */
#define PENDING_MAX_BYTES (64u << 20) /* held back for merging; past it the lowest steps go out */
#define RELEASE_LAG_S 150.0           /* a value this old (wall time) is logged even if a file lags */
#define FILES_MAX 1024u
#define DEPTH_MAX 8
#define NAMED_MAX 64u /* skipped (reason, tag, plugin) remembered, so each is named once */

enum { P_SCALAR, P_HIST, P_IMAGE, P_TEXT };

typedef struct tbfile {
	char *path;
	char *subdir;     /* below the logdir: "" or "a/b" */
	off_t off;
	int64_t max_step; /* the largest step read from it, -1 before any record */
	double grown_at;  /* CLOCK_MONOTONIC seconds of the last pass that read records from it */
	int hparams;      /* it holds an hparams session */
} tbfile;

/* A value read and not yet logged. */
typedef struct pend {
	int kind;
	int hparams; /* from an hparams session file */
	int64_t step;
	double wall;
	uint64_t seq; /* order read, to keep a file's order within a step */
	char *key;
	double value;
	void *body; /* P_HIST: edges[nbins+1] then counts[nbins]; P_IMAGE: bytes; P_TEXT: table JSON (NUL-terminated) */
	size_t blen, nbins;
} pend;

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
	uint64_t refused;      /* values the run refused (a step going back, a key too long) */
	uint64_t as_summary;   /* hparams metrics below the last step, kept as summary values */
	tbfile *cur;           /* the file being read */
	pend *pend;
	size_t npend, cappend, pend_bytes;
	uint64_t seq;
	char *named[NAMED_MAX];
	size_t nnamed;
};

static void pend_free(pend *p)
{
	free(p->key);
	free(p->body);
}

/* Queue a value read from f->cur under its series key. 0, or -1 out of memory (the reader stops). */
static pend *queue(struct wb__tbfollow *f, int kind, double wall, int64_t step, const char *tag, size_t blen)
{
	char key[WB__KEY_MAX + 1];
	pend *p;

	if (wb__tb_series_key(key, f->cur->subdir, tag, f->cur->hparams)) {
		f->refused++;
		wb__warn("tensorboard %s: a value of %s/%s refused: its key would be longer than %u bytes", f->logdir,
			 f->cur->subdir, tag, WB__KEY_MAX);
		return NULL;
	}
	if (f->npend == f->cappend) {
		size_t cap = f->cappend ? f->cappend * 2 : 256;
		pend *q = realloc(f->pend, cap * sizeof(*q));
		if (!q) {
			f->refused++;
			return NULL;
		}
		f->pend = q;
		f->cappend = cap;
	}
	p = &f->pend[f->npend];
	memset(p, 0, sizeof(*p));
	if (!(p->key = strdup(key)) || (blen && !(p->body = malloc(blen)))) {
		pend_free(p);
		f->refused++;
		return NULL;
	}
	p->kind = kind;
	p->hparams = f->cur->hparams;
	p->step = step;
	p->wall = wall;
	p->seq = f->seq++;
	p->blen = blen;
	f->npend++;
	f->pend_bytes += sizeof(*p) + strlen(key) + blen;
	return p;
}

/* The reader's step is >= 0 here; a file's last step read holds back the merge (see the top). */
static void saw_step(struct wb__tbfollow *f, int64_t step)
{
	if (step > f->cur->max_step)
		f->cur->max_step = step;
}

static int on_scalar(void *arg, double wall, int64_t step, const char *tag, double value)
{
	struct wb__tbfollow *f = arg;
	pend *p = queue(f, P_SCALAR, wall, step, tag, 0);

	if (p)
		p->value = value;
	saw_step(f, step);
	return 0;
}

static int on_hist(void *arg, double wall, int64_t step, const char *tag, const double *edges, const double *counts,
		   size_t nbins)
{
	struct wb__tbfollow *f = arg;
	pend *p = queue(f, P_HIST, wall, step, tag, (2 * nbins + 1) * sizeof(double));

	if (p) {
		memcpy(p->body, edges, (nbins + 1) * sizeof(double));
		memcpy((double *)p->body + nbins + 1, counts, nbins * sizeof(double));
		p->nbins = nbins;
	}
	saw_step(f, step);
	return 0;
}

static int on_image(void *arg, double wall, int64_t step, const char *tag, const uint8_t *bytes, size_t len)
{
	struct wb__tbfollow *f = arg;
	pend *p = queue(f, P_IMAGE, wall, step, tag, len);

	if (p)
		memcpy(p->body, bytes, len);
	saw_step(f, step);
	return 0;
}

static int on_text(void *arg, double wall, int64_t step, const char *tag, const char *table, size_t len)
{
	struct wb__tbfollow *f = arg;
	pend *p = queue(f, P_TEXT, wall, step, tag, len + 1);

	if (p)
		memcpy(p->body, table, len + 1);
	saw_step(f, step);
	return 0;
}

/* A hyperparameter: into the run's config now (config has no step). */
static int on_hparam(void *arg, const char *name, const wb__tb_hparam *v)
{
	struct wb__tbfollow *f = arg;
	int rc = v->type == WB__TB_HP_NUMBER   ? wb_config_set_double(f->run, name, v->number)
		 : v->type == WB__TB_HP_STRING ? wb_config_set_string(f->run, name, v->string)
					       : wb_config_set_bool(f->run, name, v->boolean);

	f->cur->hparams = 1;
	if (rc != WB_OK) {
		f->refused++;
		wb__warn("tensorboard %s: hparam %s refused as config: %s", f->logdir, name, wb_errmsg());
	}
	return 0;
}

/* Name a skipped value the first time its (reason, tag, plugin) is seen; the totals come at wb_run_finish. */
static void on_skipped(void *arg, enum wb__tb_skip why, const char *tag, const char *plugin)
{
	struct wb__tbfollow *f = arg;
	char id[160];

	snprintf(id, sizeof id, "%d\n%s\n%s", (int)why, tag, plugin);
	for (size_t i = 0; i < f->nnamed; i++)
		if (strcmp(f->named[i], id) == 0)
			return;
	if (f->nnamed < NAMED_MAX && (f->named[f->nnamed] = strdup(id)))
		f->nnamed++;
	wb__warn("tensorboard %s: skipping values of tag \"%s\"%s%s%s in %s: %s", f->logdir, tag, *plugin ? " (plugin " : "",
		 plugin, *plugin ? ")" : "", *f->cur->subdir ? f->cur->subdir : ".",
		 why == WB__TB_UNSUPPORTED ? "unsupported (wb imports scalars, histograms, images, text and hparams)"
		 : why == WB__TB_BAD_TAG   ? "bad_tag (not a valid wb key)"
		 : why == WB__TB_BAD_STEP  ? "bad_step (negative step)"
					   : "bad_value (malformed)");
}

static int by_step(const void *a, const void *b)
{
	const pend *x = a, *y = b;
	if (x->step != y->step)
		return x->step < y->step ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Log one pending value at its step with its wall time. WB_OK or the run's refusal (message set). */
static int emit(struct wb__tbfollow *f, const pend *p)
{
	wb_metric m = {p->key, p->value};

	switch (p->kind) {
	case P_SCALAR:
		return wb__log_at(f->run, &m, 1, p->step, p->wall);
	case P_HIST:
		return wb__log_histogram_bins_at(f->run, p->key, p->body, (const double *)p->body + p->nbins + 1, p->nbins,
						 p->step, p->wall);
	case P_IMAGE:
		return wb__log_image_at(f->run, p->key, p->body, p->blen, p->step, p->wall);
	default:
		return wb__log_table_at(f->run, p->key, p->body, p->step, p->wall);
	}
}

/*
 * Log the pending values that are safe (see the top), in step order; all of them when final. Refusals are
 * counted and said now, with the first one's reason.
 */
static void release(struct wb__tbfollow *f, int final)
{
	int64_t safe = INT64_MAX;
	struct timespec ts, mono;
	double old;
	size_t i;
	uint64_t refused = 0;
	char first[WB__ERRMSG_MAX + 300] = "";

	if (!f->npend)
		return;
	qsort(f->pend, f->npend, sizeof(pend), by_step);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	for (size_t k = 0; k < f->nfiles; k++) {
		const tbfile *t = &f->files[k];
		if (!t->hparams && t->max_step >= 0 && t->max_step < safe &&
		    (double)mono.tv_sec - t->grown_at < RELEASE_LAG_S)
			safe = t->max_step;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	old = (double)ts.tv_sec - RELEASE_LAG_S;
	for (i = 0; i < f->npend; i++) {
		pend *p = &f->pend[i];
		int rc;
		if (!final && p->step > safe && p->wall > old && f->pend_bytes <= PENDING_MAX_BYTES)
			break;
		rc = emit(f, p);
		if (rc != WB_OK && p->kind == P_SCALAR && p->hparams && p->step < wb_run_step(f->run) &&
		    wb_summary_set_double(f->run, p->key, p->value) == WB_OK) {
			f->as_summary++;
			rc = WB_OK;
		}
		if (rc != WB_OK) {
			if (!refused++)
				snprintf(first, sizeof first, "%s at step %" PRId64 ": %s", p->key, p->step, wb_errmsg());
			f->refused++;
		}
		f->pend_bytes -= sizeof(*p) + strlen(p->key) + p->blen;
		pend_free(p);
	}
	memmove(f->pend, f->pend + i, (f->npend - i) * sizeof(pend));
	f->npend -= i;
	if (refused)
		wb__warn("tensorboard %s: %" PRIu64 " value%s refused by the run (first: %s)", f->logdir, refused,
			 refused == 1 ? "" : "s", first);
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
		tbfile *p;

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
		if (!(p = realloc(f->files, (f->nfiles + 1) * sizeof(*p))))
			continue;
		f->files = p;
		p += f->nfiles;
		memset(p, 0, sizeof(*p));
		p->max_step = -1;
		if (!(p->path = strdup(path)) || !(p->subdir = strdup(rel))) {
			free(p->path);
			continue;
		}
		f->nfiles++;
	}
	closedir(d);
}

/* One pass: new files, each file's new complete records into the pending list, then what is safe to log. */
static void pass(struct wb__tbfollow *f, int final)
{
	wb__tb_sink sink = {f, on_scalar, on_hist, on_image, on_text, on_hparam, on_skipped};

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
			f->cur = t;
			wb__tb_read_some(buf, got, &sink, &f->rep, &used);
			t->off += (off_t)used;
			if (used) {
				struct timespec mono;
				clock_gettime(CLOCK_MONOTONIC, &mono);
				t->grown_at = (double)mono.tv_sec;
				if (t->max_step < 0)
					t->max_step = 0; /* a record without values: the file version, at step 0 */
			}
		}
		free(buf);
		close(fd);
	}
	release(f, final);
}

static void *follow_main(void *arg)
{
	struct wb__tbfollow *f = arg;
	struct timespec ts;
	int stop;

	for (;;) {
		pass(f, 0);
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
	pass(f, 1); /* what was written up to wb_run_finish, and everything held back */
	return NULL;
}

static void follow_free(struct wb__tbfollow *f)
{
	for (size_t i = 0; i < f->nfiles; i++) {
		free(f->files[i].path);
		free(f->files[i].subdir);
	}
	free(f->files);
	for (size_t i = 0; i < f->npend; i++)
		pend_free(&f->pend[i]);
	free(f->pend);
	for (size_t i = 0; i < f->nnamed; i++)
		free(f->named[i]);
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
		return wb__error(WB_EINVAL, "wb_run_follow_tensorboard: run and logdir must not be NULL");
	if (stat(logdir, &st) || !S_ISDIR(st.st_mode))
		return wb__error(WB_EINVAL, "wb_run_follow_tensorboard: %s is not a directory", logdir);
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
		return wb__error(WB_ESTATE, "wb_run_follow_tensorboard: the run already follows a directory");
	}
	if (pthread_create(&f->thread, NULL, follow_main, f)) {
		atomic_store(&run->tbfollow, NULL);
		follow_free(f);
		return wb__error(WB_ENOMEM, "wb_run_follow_tensorboard: cannot start a thread");
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
		wb__warn("tensorboard %s: in all, %llu records or values skipped (unreadable or not importable), %llu "
			 "refused by the run (each said when it happened)",
			 f->logdir, (unsigned long long)skipped, (unsigned long long)f->refused);
	follow_free(f);
}
