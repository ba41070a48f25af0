/*
 * artifact_save.c — wb_run_save: files that make up the run's
 * "run-<id>-files" artifact.
 *
 * A saved file is copied into <run dir>/files/ once its size and mtime are
 * the same before and after the copy (else copied again), and the copies
 * make up the artifact, logged like any other (artifact_push.c). WB_SAVE_NOW
 * copies and logs at once, WB_SAVE_END at wb_run_finish, WB_SAVE_LIVE also
 * whenever the file changed and then held still for a poll (a thread of its
 * own, started by the first live save). The copy, not the file, is what is
 * hashed and uploaded, so a trainer rewriting its checkpoint cannot make the
 * upload fail halfway.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "artifact.h"
#include "artifact_int.h"
#include "error.h"
#include "names.h"
#include "run.h"
#include "util.h"

#define SAVES_POLL_DEFAULT_MS 1000

/* ---- wb_run_save ---- */

typedef struct saved {
	char *src;  /* the user's file */
	char *name; /* base name, the path inside the artifact */
	int policy;
	int has_snap;      /* a copy is in the spool */
	uint64_t size;     /* of the last snapshot */
	int64_t mtime;     /* of the last snapshot */
	uint64_t seen_size; /* at the previous poll (live) */
	int64_t seen_mtime;
} saved;

struct wb__saves {
	pthread_mutex_t mu; /* guards v, n and serialises snapshots and uploads */
	pthread_mutex_t cvmu;
	pthread_cond_t cv;
	saved *v;
	size_t n, cap;
	pthread_t thread;
	int thread_started;
	int stop; /* under cvmu */
	int64_t poll_ms;
};

static pthread_mutex_t saves_init_mu = PTHREAD_MUTEX_INITIALIZER;

/* Copy s->src into <run dir>/files/<name> once it holds still. Under saves->mu. */
static int snapshot(wb_run *run, saved *s, uint8_t *buf)
{
	char *dst = NULL, *tmp = NULL, *dir = NULL;
	int rc = WB_OK;

	if ((rc = wb__asprintf(&dir, "%s/files", run->dir)) || (rc = wb__mkdir_p(dir)) ||
	    (rc = wb__asprintf(&dst, "%s/%s", dir, s->name)) || (rc = wb__asprintf(&tmp, "%s.tmp", dst)))
		goto done;
	for (int attempt = 0;; attempt++) {
		struct stat a, b;
		int in = -1, out = -1, ok = 1;
		if (stat(s->src, &a) != 0 || !S_ISREG(a.st_mode)) {
			rc = wb__error(WB_ENOTFOUND, "%s is not a regular file", s->src);
			goto done;
		}
		in = open(s->src, O_RDONLY | O_CLOEXEC);
		out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (in < 0 || out < 0) {
			rc = wb__error(WB_EIO, "cannot copy %s: %s", s->src, strerror(errno));
			if (in >= 0)
				close(in);
			if (out >= 0)
				close(out);
			goto done;
		}
		for (;;) {
			ssize_t r = read(in, buf, WB__ART_CHUNK);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				ok = 0;
				break;
			}
			if (r == 0)
				break;
			for (ssize_t o = 0; o < r;) {
				ssize_t w = write(out, buf + o, (size_t)(r - o));
				if (w < 0 && errno == EINTR)
					continue;
				if (w <= 0) {
					ok = -1;
					break;
				}
				o += w;
			}
			if (ok < 0)
				break;
		}
		close(in);
		if (ok < 0 || fsync(out) != 0) {
			close(out);
			rc = wb__error(WB_EIO, "cannot write %s: %s", tmp, strerror(errno));
			goto done;
		}
		close(out);
		if (ok && stat(s->src, &b) == 0 && a.st_size == b.st_size && wb__mtime_ns(&a) == wb__mtime_ns(&b)) {
			/* it held still while copied: the copy is one state of the file */
			if (rename(tmp, dst) != 0) {
				rc = wb__error(WB_EIO, "cannot rename %s: %s", tmp, strerror(errno));
				goto done;
			}
			s->has_snap = 1;
			s->size = (uint64_t)a.st_size;
			s->mtime = wb__mtime_ns(&a);
			break;
		}
		if (attempt >= 50) {
			rc = wb__error(WB_EIO, "%s keeps changing: no stable copy after %d tries", s->src, attempt + 1);
			goto done;
		}
		{
			struct timespec ts = {0, 20000000};
			nanosleep(&ts, NULL); /* give the writer of the file a moment to finish */
		}
	}
done:
	if (rc && tmp)
		unlink(tmp);
	free(dir);
	free(dst);
	free(tmp);
	return rc;
}

/* Log the run's files artifact from the spool copies. Under saves->mu. */
static int log_saves(wb_run *run, wb__saves *sv, int64_t deadline)
{
	wb_artifact *a = NULL;
	char name[80];
	wb__art_upctx u;
	int rc;

	snprintf(name, sizeof(name), "run-%s-files", run->id);
	if ((rc = wb_artifact_new(&a, name, "run-files")))
		return rc;
	for (size_t i = 0; i < sv->n && !rc; i++) {
		char *p = NULL;
		if (!sv->v[i].has_snap)
			continue;
		if (!(rc = wb__asprintf(&p, "%s/files/%s", run->dir, sv->v[i].name)))
			rc = wb_artifact_add_file(a, p, sv->v[i].name);
		free(p);
	}
	if (!rc && a->n == 0) {
		wb_artifact_free(a);
		return WB_OK;
	}
	if (!rc && !(rc = wb__art_upctx_init(&u, deadline))) {
		if (!(rc = wb__art_hash_all(a, u.buf, NULL)))
			rc = wb__art_log_hashed(run, a, NULL, 0, deadline, &u, NULL);
		wb__art_upctx_free(&u);
	}
	wb_artifact_free(a);
	return rc;
}

static void *saves_thread(void *arg)
{
	wb_run *run = arg;
	wb__saves *sv = run->saves;
	uint8_t *buf = malloc(WB__ART_CHUNK);

	for (;;) {
		int changed = 0;
		pthread_mutex_lock(&sv->cvmu);
		if (!sv->stop)
			wb__cond_wait_until(&sv->cv, &sv->cvmu, wb__mono_ms() + sv->poll_ms);
		if (sv->stop) {
			pthread_mutex_unlock(&sv->cvmu);
			break;
		}
		pthread_mutex_unlock(&sv->cvmu);
		if (!buf)
			continue;
		pthread_mutex_lock(&sv->mu);
		for (size_t i = 0; i < sv->n; i++) {
			saved *s = &sv->v[i];
			struct stat st;
			if (s->policy != WB_SAVE_LIVE || stat(s->src, &st) != 0)
				continue;
			if ((uint64_t)st.st_size == s->size && wb__mtime_ns(&st) == s->mtime && s->has_snap)
				continue;
			/* changed since the snapshot: take a new one once it held still for a poll */
			if ((uint64_t)st.st_size == s->seen_size && wb__mtime_ns(&st) == s->seen_mtime) {
				if (snapshot(run, s, buf) == WB_OK)
					changed = 1;
			}
			s->seen_size = (uint64_t)st.st_size;
			s->seen_mtime = wb__mtime_ns(&st);
		}
		/* bounded by the run's finish timeout, so that wb_run_finish, which joins this thread, stays bounded */
		if (changed && log_saves(run, sv, wb__mono_ms() + (int64_t)run->s.finish_timeout_ms))
			wb__warn("saving files of run %s: %s", run->id, wb_errmsg());
		pthread_mutex_unlock(&sv->mu);
	}
	free(buf);
	return NULL;
}

static int saves_get(wb_run *run, wb__saves **out)
{
	wb__saves *sv;
	const char *p = getenv("WB_SAVE_POLL_MS");

	pthread_mutex_lock(&saves_init_mu);
	sv = run->saves;
	if (!sv) {
		sv = calloc(1, sizeof(*sv));
		if (sv) {
			pthread_mutex_init(&sv->mu, NULL);
			pthread_mutex_init(&sv->cvmu, NULL);
			wb__cond_init(&sv->cv);
			sv->poll_ms = p && *p && atol(p) > 0 ? atol(p) : SAVES_POLL_DEFAULT_MS;
			run->saves = sv;
		}
	}
	pthread_mutex_unlock(&saves_init_mu);
	*out = sv;
	return sv ? WB_OK : wb__error(WB_ENOMEM, "out of memory");
}

int wb_run_save(wb_run *run, const char *path, wb_save_policy policy)
{
	wb__saves *sv;
	saved *s = NULL;
	const char *base;
	uint8_t *buf = NULL;
	struct stat st;
	int rc = WB_OK, start_thread = 0;

	if (!run || !path)
		return wb__error(WB_EINVAL, "run and path must not be NULL");
	if (policy != WB_SAVE_NOW && policy != WB_SAVE_END && policy != WB_SAVE_LIVE)
		return wb__error(WB_EINVAL, "policy must be WB_SAVE_NOW, WB_SAVE_END or WB_SAVE_LIVE");
	if (run->mode == WB_MODE_DISABLED)
		return WB_OK;
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return wb__error(WB_ENOTFOUND, "%s is not a regular file", path);
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (!wb__art_path_valid(base, strlen(base)))
		return wb__error(WB_EINVAL, "%s has no usable file name", path);
	if ((rc = saves_get(run, &sv)))
		return rc;
	pthread_mutex_lock(&sv->mu);
	for (size_t i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i].name, base) == 0)
			s = &sv->v[i];
	if (s && strcmp(s->src, path) != 0) {
		rc = wb__error(WB_EINVAL, "another file named %s is saved with this run already", base);
		goto done;
	}
	if (!s) {
		if ((rc = wb__reserve(&sv->v, &sv->cap, sv->n, 1, sizeof(*sv->v), WB__ART_FILES_MAX,
				      "files saved with a run")))
			goto done;
		s = &sv->v[sv->n];
		memset(s, 0, sizeof(*s));
		if (!(s->src = wb__strdup(path)) || !(s->name = wb__strdup(base))) {
			free(s->src);
			free(s->name);
			rc = wb__error(WB_ENOMEM, "out of memory");
			goto done;
		}
		sv->n++;
	}
	if ((int)policy > s->policy)
		s->policy = (int)policy;
	if (policy == WB_SAVE_END)
		goto done;
	if (!(buf = malloc(WB__ART_CHUNK))) {
		rc = wb__error(WB_ENOMEM, "out of memory");
		goto done;
	}
	if (!(rc = snapshot(run, s, buf)))
		rc = log_saves(run, sv, wb__art_deadline(0));
	s->seen_size = s->size;
	s->seen_mtime = s->mtime;
	start_thread = policy == WB_SAVE_LIVE && !sv->thread_started;
	if (start_thread && wb__thread_start(&sv->thread, saves_thread, run, "wb save") == WB_OK)
		sv->thread_started = 1;
done:
	pthread_mutex_unlock(&sv->mu);
	free(buf);
	return rc;
}

void wb__saves_finish(wb_run *run, int64_t deadline)
{
	wb__saves *sv = run->saves;
	uint8_t *buf;
	int changed = 0;

	if (!sv)
		return;
	if (sv->thread_started) {
		pthread_mutex_lock(&sv->cvmu);
		sv->stop = 1;
		pthread_cond_broadcast(&sv->cv);
		pthread_mutex_unlock(&sv->cvmu);
		pthread_join(sv->thread, NULL);
	}
	buf = malloc(WB__ART_CHUNK);
	pthread_mutex_lock(&sv->mu);
	for (size_t i = 0; buf && i < sv->n; i++) {
		saved *s = &sv->v[i];
		struct stat st;
		if (s->policy == WB_SAVE_NOW && s->has_snap)
			continue;
		if (s->has_snap && stat(s->src, &st) == 0 && (uint64_t)st.st_size == s->size && wb__mtime_ns(&st) == s->mtime)
			continue;
		if (snapshot(run, s, buf) == WB_OK)
			changed = 1;
		else
			wb__warn("saving %s: %s", s->src, wb_errmsg());
	}
	if (changed && log_saves(run, sv, deadline))
		wb__warn("saving files of run %s: %s", run->id, wb_errmsg());
	pthread_mutex_unlock(&sv->mu);
	free(buf);
	for (size_t i = 0; i < sv->n; i++) {
		free(sv->v[i].src);
		free(sv->v[i].name);
	}
	free(sv->v);
	pthread_mutex_destroy(&sv->mu);
	pthread_mutex_destroy(&sv->cvmu);
	pthread_cond_destroy(&sv->cv);
	free(sv);
	run->saves = NULL;
}
