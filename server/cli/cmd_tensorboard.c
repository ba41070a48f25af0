/*
 * cmd_tensorboard.c — `wb tensorboard import LOGDIR`: TensorBoard event
 * files into wb runs.
 *
 * Every directory under LOGDIR (LOGDIR included) that holds event files
 * (names containing "tfevents") becomes one run, named by its path below
 * LOGDIR, unless a directory above it is a run already: then its files
 * belong to that run (add_scalars and add_hparams write into subdirectories
 * of the writer's directory), their keys given by wb__tb_series_key, the
 * rule wb_tensorboard_follow uses too. A run's files are read in name
 * order (its own first, then each subdirectory's; sdk/wire/tbevents.c),
 * what they hold is ordered by step (stable: the files' order within a
 * step), and written
 * as a run log in the run directory <dir>/run-<id>, exactly as an offline
 * SDK run would have written it: RUN (name, created_at = the first
 * wall_time, metadata.tensorboard = what was read and what was skipped, by
 * reason, and the values skipped named), CONFIG (add_hparams'
 * hyperparameters), METRICS per event with the event's wall_time as time
 * (so the server derives _timestamp from it), HISTOGRAM, IMAGE and TABLE
 * (text) records, FINISH. Then wb_sync uploads it, with its retries and
 * exactly-once semantics; a failed upload leaves the directory for
 * `wb sync`.
 *
 * Importing again is idempotent: the run id is derived from the run's
 * identity (project, name, its first event file's name, which holds the
 * writer's start time, host and pid), and the run log from the same files
 * is the same bytes, so the same run dir is found again and the server,
 * which applies each seq once, adds nothing. If the files changed since
 * (a run that went on training), the new log would not extend the old one
 * frame by frame, so the import refuses that run with the reason rather
 * than mixing two logs under one id.
 *
 * Building the log here rather than calling wb_log is what keeps the
 * events' own wall times and lets the steps be sorted first: event files
 * of a resumed TensorFlow job often go back in step, and wb's step rule
 * would refuse them in file order.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "api.h"
#include "cmd.h"
#include "model/fields.h"
#include "progress.h"
#include "settings_file.h"
#include "tbevents.h"
#include "util/sha256.h"
#include "wb.h"
#include "wire.h"
#include "wire_media.h"

static const char tb_usage[] =
	"usage: wb tensorboard import LOGDIR [--project ENTITY/PROJECT] [--dir DIR] [--base-url URL] [--api-key KEY]\n"
	"                             [-q|--quiet]\n"
	"\n"
	"Import TensorBoard event files: each directory under LOGDIR holding event files becomes a run\n"
	"(scalars, histograms, images, text as tables, hparams as config), with the files of the\n"
	"directories below it (add_scalars, add_hparams). The run logs are written under DIR (default\n"
	"$WB_DIR, else ./wb) and uploaded; a failed upload can be repeated with `wb sync`. Records that\n"
	"cannot be read are skipped and counted, by reason, and skipped values named. Importing the same\n"
	"LOGDIR again adds nothing (same run ids); a run whose files changed since is refused.\n"
	"Without --project the runs go to $WB_ENTITY, else the API key owner's entity, project\n"
	"$WB_PROJECT, else tensorboard.\n";

#define DIRS_MAX 4096
#define TB_OWNER_TIMEOUT_MS 30000 /* asking the server who owns the key */
#define FILE_MAX ((size_t)1 << 34) /* 16 GiB: an event file is mapped, not read */

enum { IT_SCALAR, IT_HIST, IT_IMAGE, IT_TABLE };

typedef struct item {
	int kind;
	int64_t step;
	double wall;
	size_t order;
	char *key;
	double value;
	uint8_t *body; /* HIST, IMAGE: the record body after the media header */
	size_t blen;
} item;

#define NAMED_MAX 64 /* skipped values named in the report */

typedef struct importer {
	item *items;
	size_t n, cap;
	int oom;
	wb__tb_report rep;
	const char *subdir; /* of the file being read, below the run's directory */
	int hparams;        /* the file being read holds an hparams session */
	uint64_t bad_keys;  /* values whose series key would be too long */
	cJSON *config;      /* hparams, or NULL */
	cJSON *named;       /* skipped values: [{reason, tag, plugin, dir, count}] */
} importer;

static item *add(importer *im, int kind, double wall, int64_t step, const char *tag)
{
	char key[WB__KEY_MAX + 1];
	item *it;

	if (wb__tb_series_key(key, im->subdir, tag, im->hparams)) {
		fprintf(stderr, "wb tensorboard: a value of %s/%s skipped: its key would be longer than %u bytes\n",
			im->subdir, tag, WB__KEY_MAX);
		im->bad_keys++;
		return NULL;
	}
	if (im->n == im->cap) {
		size_t cap = im->cap ? im->cap * 2 : 256;
		item *p = realloc(im->items, cap * sizeof(*p));
		if (!p)
			return NULL;
		im->items = p;
		im->cap = cap;
	}
	it = &im->items[im->n];
	memset(it, 0, sizeof(*it));
	if (!(it->key = strdup(key)))
		return NULL;
	it->kind = kind;
	it->wall = wall;
	it->step = step;
	it->order = im->n++;
	return it;
}

/* add()'s NULL: -1 out of memory (the reader stops), 0 when the value was refused for its key. */
static int add_failed(importer *im, uint64_t bad_before) { return im->bad_keys > bad_before ? 0 : -1; }

static int on_scalar(void *arg, double wall, int64_t step, const char *tag, double value)
{
	importer *im = arg;
	uint64_t bad = im->bad_keys;
	item *it = add(arg, IT_SCALAR, wall, step, tag);
	if (!it)
		return add_failed(im, bad);
	it->value = value;
	return 0;
}

static int on_hist(void *arg, double wall, int64_t step, const char *tag, const double *edges, const double *counts,
		   size_t nbins)
{
	importer *im = arg;
	uint64_t bad = im->bad_keys;
	item *it = add(arg, IT_HIST, wall, step, tag);
	if (!it)
		return add_failed(im, bad);
	it->blen = wb__hist_body_size(nbins);
	if (!(it->body = malloc(it->blen)))
		return -1;
	wb__hist_put(it->body, 0, 0, 0, edges, counts, nbins);
	return 0;
}

static int on_image(void *arg, double wall, int64_t step, const char *tag, const uint8_t *bytes, size_t len)
{
	importer *im = arg;
	uint64_t bad = im->bad_keys;
	item *it = add(arg, IT_IMAGE, wall, step, tag);
	uint32_t w, h;

	if (!it)
		return add_failed(im, bad);
	wb__image_sniff(bytes, len, &w, &h);
	if (w > WB__IMAGE_DIM_MAX || h > WB__IMAGE_DIM_MAX)
		w = h = 0;
	it->blen = wb__image_body_size(0, len);
	if (!(it->body = malloc(it->blen)))
		return -1;
	wb__image_put(it->body, NULL, 0, w, h, bytes, len);
	return 0;
}

static int on_text(void *arg, double wall, int64_t step, const char *tag, const char *table, size_t len)
{
	importer *im = arg;
	uint64_t bad = im->bad_keys;
	item *it = add(arg, IT_TABLE, wall, step, tag);

	if (!it)
		return add_failed(im, bad);
	if (!(it->body = malloc(len)))
		return -1;
	memcpy(it->body, table, len);
	it->blen = len;
	return 0;
}

/* A hyperparameter into the config object, nested at its dots as wb_config_set_* nests them. */
static int on_hparam(void *arg, const char *name, const wb__tb_hparam *v)
{
	importer *im = arg;
	char path[WB__CONFIG_KEY_MAX + 1], *part = path, *dot;
	cJSON *obj, *val;

	im->hparams = 1;
	if (!im->config && !(im->config = cJSON_CreateObject()))
		return -1;
	snprintf(path, sizeof path, "%s", name);
	for (obj = im->config; (dot = strchr(part, '.')); part = dot + 1) {
		cJSON *next = cJSON_GetObjectItemCaseSensitive(obj, (*dot = '\0', part));
		if (!cJSON_IsObject(next)) {
			cJSON_DeleteItemFromObjectCaseSensitive(obj, part);
			if (!(next = cJSON_AddObjectToObject(obj, part)))
				return -1;
		}
		obj = next;
	}
	val = v->type == WB__TB_HP_NUMBER   ? cJSON_CreateNumber(v->number)
	      : v->type == WB__TB_HP_STRING ? cJSON_CreateString(v->string)
					    : cJSON_CreateBool(v->boolean);
	cJSON_DeleteItemFromObjectCaseSensitive(obj, part);
	return val && cJSON_AddItemToObject(obj, part, val) ? 0 : (cJSON_Delete(val), -1);
}

/* Name a skipped value in the report: one entry per (reason, tag, plugin, directory), counted. */
static void on_skipped(void *arg, enum wb__tb_skip why, const char *tag, const char *plugin)
{
	importer *im = arg;
	cJSON *e;

	if (!im->named && !(im->named = cJSON_CreateArray()))
		return;
	cJSON_ArrayForEach(e, im->named)
	{
		if (strcmp(cJSON_GetObjectItem(e, "reason")->valuestring, wb__tb_skip_name[why]) == 0 &&
		    strcmp(cJSON_GetObjectItem(e, "tag")->valuestring, tag) == 0 &&
		    strcmp(cJSON_GetObjectItem(e, "plugin")->valuestring, plugin) == 0 &&
		    strcmp(cJSON_GetObjectItem(e, "dir")->valuestring, im->subdir) == 0) {
			cJSON *c = cJSON_GetObjectItem(e, "count");
			cJSON_SetNumberValue(c, c->valuedouble + 1);
			return;
		}
	}
	if (cJSON_GetArraySize(im->named) >= NAMED_MAX || !(e = cJSON_CreateObject()))
		return;
	if (!cJSON_AddItemToArray(im->named, e) || !cJSON_AddStringToObject(e, "reason", wb__tb_skip_name[why]) ||
	    !cJSON_AddStringToObject(e, "tag", tag) || !cJSON_AddStringToObject(e, "plugin", plugin) ||
	    !cJSON_AddStringToObject(e, "dir", im->subdir) || !cJSON_AddNumberToObject(e, "count", 1))
		return; /* the report names fewer values; the counts by reason stay exact */
}

static void importer_free(importer *im)
{
	for (size_t i = 0; i < im->n; i++) {
		free(im->items[i].key);
		free(im->items[i].body);
	}
	free(im->items);
	cJSON_Delete(im->config);
	cJSON_Delete(im->named);
}

static int by_step(const void *a, const void *b)
{
	const item *x = a, *y = b;
	if (x->step != y->step)
		return x->step < y->step ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* ---- finding event directories ---- */

typedef struct strs {
	char **v;
	size_t n, cap;
} strs;

static int strs_add(strs *s, const char *x)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		char **p = realloc(s->v, cap * sizeof(*p));
		if (!p)
			return -1;
		s->v = p;
		s->cap = cap;
	}
	return (s->v[s->n] = strdup(x)) ? (s->n++, 0) : -1;
}

static void strs_free(strs *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The event files directly in dir, sorted by name (into files, as full paths). */
static int event_files(const char *dir, strs *files)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[PATH_MAX];
	struct stat st;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (!strstr(e->d_name, "tfevents"))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && strs_add(files, path)) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	if (files->n > 1)
		qsort(files->v, files->n, sizeof(char *), cmp_str);
	return 0;
}

/* Every directory under dir (itself included, no symbolic links followed) into out. */
static int walk(const char *dir, strs *out, int depth)
{
	DIR *d;
	struct dirent *e;
	char path[PATH_MAX];
	struct stat st;

	if (depth > 32 || out->n >= DIRS_MAX || strs_add(out, dir))
		return out->n >= DIRS_MAX ? 0 : -1;
	if (!(d = opendir(dir)))
		return 0;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= sizeof path)
			continue;
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && walk(path, out, depth + 1)) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	return 0;
}

/* ---- writing the run ---- */

static int put_frame(FILE *f, uint64_t seq, uint8_t type, const void *payload, size_t len)
{
	uint8_t hdr[WB__FRAME_HEADER];

	if (len > WB__FRAME_MAX_PAYLOAD)
		return -1;
	wb__frame_header(hdr, seq, type, payload, (uint32_t)len);
	return fwrite(hdr, 1, sizeof hdr, f) == sizeof hdr && fwrite(payload, 1, len, f) == len ? 0 : -1;
}

static int put_json(FILE *f, uint64_t seq, uint8_t type, const cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);
	int rc = s ? put_frame(f, seq, type, s, strlen(s)) : -1;
	free(s);
	return rc;
}

/* A run name from a path: printable ASCII kept, anything else '_', at most 128 bytes. */
static void run_name(const char *rel, char *out, size_t cap)
{
	size_t n = 0;
	for (; *rel && n + 1 < cap && n < 128; rel++)
		out[n++] = (*rel >= 0x20 && *rel < 0x7f) ? *rel : '_';
	out[n] = '\0';
	if (!n)
		snprintf(out, cap, "tensorboard");
}

static void random_id(char out[9])
{
	static const char a[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	uint8_t r[8];
	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
		for (int i = 0; i < 8; i++)
			r[i] = (uint8_t)(rand() ^ (int)time(NULL) ^ (i * 31));
	for (int i = 0; i < 8; i++)
		out[i] = a[r[i] % 36];
	out[8] = '\0';
}

static cJSON *report_json(importer *im, const char *logdir, const strs *files, size_t rootlen)
{
	const wb__tb_report *rep = &im->rep;
	cJSON *tb = cJSON_CreateObject(), *arr, *sk;
	uint64_t total = 0;

	if (!tb || !cJSON_AddStringToObject(tb, "logdir", logdir) || !(arr = cJSON_AddArrayToObject(tb, "files")))
		goto fail;
	for (size_t i = 0; i < files->n; i++) /* below the run's directory */
		if (!cJSON_AddItemToArray(arr, cJSON_CreateString(files->v[i] + rootlen + 1)))
			goto fail;
	cJSON_AddNumberToObject(tb, "records", (double)rep->records);
	cJSON_AddNumberToObject(tb, "events", (double)rep->events);
	cJSON_AddNumberToObject(tb, "scalars", (double)rep->scalars);
	cJSON_AddNumberToObject(tb, "histograms", (double)rep->histograms);
	cJSON_AddNumberToObject(tb, "images", (double)rep->images);
	cJSON_AddNumberToObject(tb, "texts", (double)rep->texts);
	cJSON_AddNumberToObject(tb, "hparams", (double)rep->hparams);
	if (!(sk = cJSON_AddObjectToObject(tb, "skipped")))
		goto fail;
	for (int i = 0; i < WB__TB_SKIP_COUNT; i++) {
		total += rep->skipped[i];
		if (rep->skipped[i] && !cJSON_AddNumberToObject(sk, wb__tb_skip_name[i], (double)rep->skipped[i]))
			goto fail;
	}
	if (im->bad_keys && !cJSON_AddNumberToObject(sk, "key_too_long", (double)im->bad_keys))
		goto fail;
	total += im->bad_keys;
	cJSON_AddNumberToObject(tb, "skipped_total", (double)total);
	if (im->named && !cJSON_AddItemToObject(tb, "skipped_values", cJSON_Duplicate(im->named, 1)))
		goto fail;
	return tb;
fail:
	cJSON_Delete(tb);
	return NULL;
}

/* Write the run log of one imported run as <run_dir>/<log>, and run.json unless it is there. Takes tb.
 * 0 or -1 (message printed). */
static int write_run(const char *run_dir, const char *log, const char *entity, const char *project, const char *id,
		     const char *name, importer *im, cJSON *tb)
{
	char path[PATH_MAX + 32];
	FILE *f = NULL;
	cJSON *run = NULL, *fin = NULL, *rj = NULL;
	double first = 0, last = 0;
	uint64_t seq = 1;
	uint8_t *buf = NULL;
	size_t bcap = 0;
	int ret = -1;

	for (size_t i = 0; i < im->n; i++) {
		double w = im->items[i].wall;
		if (w > 0 && (first == 0 || w < first))
			first = w;
		if (w > last)
			last = w;
	}
	if (first == 0)
		first = last = (double)time(NULL);
	snprintf(path, sizeof path, "%s/%s", run_dir, log);
	if (!(f = fopen(path, "wbx"))) {
		fprintf(stderr, "wb tensorboard: cannot create %s: %s\n", path, strerror(errno));
		goto done;
	}
	run = cJSON_CreateObject();
	if (!run || !cJSON_AddStringToObject(run, "name", name) || !cJSON_AddNumberToObject(run, "created_at", first))
		goto oom;
	{
		cJSON *meta = cJSON_AddObjectToObject(run, "metadata");
		if (!meta)
			goto oom;
		cJSON_AddItemToObject(meta, "tensorboard", tb);
	}
	tb = NULL;
	if (put_json(f, seq++, WB__REC_RUN, run))
		goto ioerr;
	if (im->config && put_json(f, seq++, WB__REC_CONFIG, im->config))
		goto ioerr;
	for (size_t i = 0; i < im->n;) {
		item *it = &im->items[i];
		if (it->kind == IT_SCALAR) {
			/* one METRICS record per run of scalars sharing step and wall time */
			wb_metric m[256];
			size_t k = 0, size;
			while (i + k < im->n && k < 256 && im->items[i + k].kind == IT_SCALAR &&
			       im->items[i + k].step == it->step && im->items[i + k].wall == it->wall) {
				m[k].key = im->items[i + k].key;
				m[k].value = im->items[i + k].value;
				k++;
			}
			size = wb__metrics_size(m, k);
			if (size > bcap) {
				uint8_t *p = realloc(buf, size);
				if (!p)
					goto oom;
				buf = p;
				bcap = size;
			}
			wb__metrics_encode(buf, it->step, it->wall, m, k);
			if (put_frame(f, seq++, WB__REC_METRICS, buf, size))
				goto ioerr;
			i += k;
			continue;
		}
		{
			size_t size = wb__media_hdr_size(strlen(it->key)) + it->blen;
			if (size > bcap) {
				uint8_t *p = realloc(buf, size);
				if (!p)
					goto oom;
				buf = p;
				bcap = size;
			}
			memcpy(wb__media_hdr_put(buf, it->step, it->wall, it->key, strlen(it->key)), it->body, it->blen);
			if (put_frame(f, seq++,
				      it->kind == IT_HIST    ? WB__REC_HISTOGRAM
				      : it->kind == IT_IMAGE ? WB__REC_IMAGE
							     : WB__REC_TABLE,
				      buf, size))
				goto ioerr;
		}
		i++;
	}
	fin = cJSON_CreateObject();
	if (!fin || !cJSON_AddNumberToObject(fin, "exit_code", 0) || !cJSON_AddNumberToObject(fin, "time", last))
		goto oom;
	if (put_json(f, seq++, WB__REC_FINISH, fin) || fflush(f) || fsync(fileno(f)))
		goto ioerr;
	rj = cJSON_CreateObject();
	if (!rj || !cJSON_AddStringToObject(rj, "run_id", id) || !cJSON_AddStringToObject(rj, "entity", entity) ||
	    !cJSON_AddStringToObject(rj, "project", project) || !cJSON_AddNumberToObject(rj, "created_at", first))
		goto oom;
	{
		char *text = cJSON_PrintUnformatted(rj);
		FILE *g;
		snprintf(path, sizeof path, "%s/run.json", run_dir);
		if (!text || (!(g = fopen(path, "wx")) && errno != EEXIST)) {
			free(text);
			goto ioerr;
		}
		if (!g) { /* an earlier import wrote it: the same id, entity, project and created_at */
			free(text);
			goto written;
		}
		if (fputs(text, g) < 0 || fclose(g)) {
			free(text);
			goto ioerr;
		}
		free(text);
	}
written:
	ret = 0;
	goto done;
oom:
	fprintf(stderr, "wb tensorboard: out of memory\n");
	goto done;
ioerr:
	fprintf(stderr, "wb tensorboard: cannot write the run log in %s: %s\n", run_dir, strerror(errno));
done:
	if (f)
		fclose(f);
	free(buf);
	cJSON_Delete(run);
	cJSON_Delete(fin);
	cJSON_Delete(rj);
	cJSON_Delete(tb);
	return ret;
}

/* Read the event files of one run into im (files below the run's directory root, rootlen bytes). 0, or -1
 * (out of memory). pg counts their bytes. */
static int read_dir_events(const strs *files, size_t rootlen, importer *im, wbs__progress *pg)
{
	wb__tb_sink sink = {im, on_scalar, on_hist, on_image, on_text, on_hparam, on_skipped};

	for (size_t i = 0; i < files->n; i++) {
		char subdir[PATH_MAX];
		const char *rel = files->v[i] + rootlen + 1, *slash = strrchr(rel, '/');

		snprintf(subdir, sizeof subdir, "%.*s", slash ? (int)(slash - rel) : 0, rel);
		im->subdir = subdir;
		im->hparams = 0;
		int fd = open(files->v[i], O_RDONLY | O_CLOEXEC);
		struct stat st;
		void *p;
		int rc;

		if (fd < 0 || fstat(fd, &st) || (size_t)st.st_size > FILE_MAX) {
			fprintf(stderr, "wb tensorboard: cannot read %s: %s\n", files->v[i],
				fd < 0 ? strerror(errno) : "too large");
			if (fd >= 0)
				close(fd);
			continue;
		}
		if (st.st_size == 0) {
			close(fd);
			continue;
		}
		p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		close(fd);
		if (p == MAP_FAILED) {
			fprintf(stderr, "wb tensorboard: cannot map %s: %s\n", files->v[i], strerror(errno));
			continue;
		}
		rc = wb__tb_read(p, (size_t)st.st_size, &sink, &im->rep);
		munmap(p, (size_t)st.st_size);
		wbs__progress_add(pg, (uint64_t)st.st_size);
		im->subdir = "";
		if (rc)
			return -1;
	}
	return 0;
}

/*
 * The run id of an imported run: 8 characters of base 36 from SHA-256 over what identifies it (project,
 * name, and its first event file's name: the writer's start time, host and pid), so importing again finds
 * the same run.
 */
static void derived_id(const char *entity, const char *project, const char *name, const char *first_file, char out[9])
{
	static const char a[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	const char *base = strrchr(first_file, '/');
	wbs__sha256 *h = wbs__sha256_begin();
	char hex[65];

	if (!h) { /* out of memory: a fresh id, so at worst a second import duplicates, never mixes */
		random_id(out);
		return;
	}
	base = base ? base + 1 : first_file;
	wbs__sha256_update(h, "wb tensorboard import 1\n", 24);
	wbs__sha256_update(h, entity, strlen(entity) + 1);
	wbs__sha256_update(h, project, strlen(project) + 1);
	wbs__sha256_update(h, name, strlen(name) + 1);
	wbs__sha256_update(h, base, strlen(base) + 1);
	wbs__sha256_end(h, hex);
	for (int i = 0; i < 8; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		out[i] = a[v % 36];
	}
	out[8] = '\0';
}

/* 1 if the files at paths a and b hold the same bytes, 0 if not or one cannot be read. */
static int same_file(const char *a, const char *b)
{
	FILE *x = fopen(a, "rb"), *y = fopen(b, "rb");
	char p[65536], q[65536];
	size_t n, m;
	int same = x && y;

	while (same) {
		n = fread(p, 1, sizeof p, x);
		m = fread(q, 1, sizeof q, y);
		if (n != m || memcmp(p, q, n))
			same = 0;
		if (n < sizeof p)
			break;
	}
	if (same && (ferror(x) || ferror(y)))
		same = 0;
	if (x)
		fclose(x);
	if (y)
		fclose(y);
	return same;
}

/* Name each skipped value: which tag, of which plugin, in which directory, why, how often. */
static void print_named(const importer *im)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, im->named)
	{
		const char *tag = cJSON_GetObjectItem(e, "tag")->valuestring,
			   *plugin = cJSON_GetObjectItem(e, "plugin")->valuestring,
			   *dir = cJSON_GetObjectItem(e, "dir")->valuestring;
		printf("  skipped %d x tag \"%s\"%s%s%s%s%s: %s\n", cJSON_GetObjectItem(e, "count")->valueint, tag,
		       *plugin ? " (plugin " : "", plugin, *plugin ? ")" : "", *dir ? " in " : "", dir,
		       cJSON_GetObjectItem(e, "reason")->valuestring);
	}
	if (cJSON_GetArraySize(im->named) >= NAMED_MAX)
		printf("  (only the first %d kinds of skipped values are named)\n", NAMED_MAX);
}

static int parse_project(const char *arg, char *entity, char *project)
{
	const char *slash = strchr(arg, '/');

	if (!slash || (size_t)(slash - arg) > WB__NAME_MAX || strlen(slash + 1) > WB__NAME_MAX)
		return -1;
	memcpy(entity, arg, (size_t)(slash - arg));
	entity[slash - arg] = '\0';
	strcpy(project, slash + 1);
	return wb__name_valid(entity) && wb__name_valid(project) ? 0 : -1;
}

/*
 * Without --project or WB_ENTITY the runs go to the key owner's entity, as
 * every other client command's (wb_run_init, wb sync): the server and the
 * key resolved by the CLI's rule (api.c), the owner from the settings file
 * or the server. It is needed before anything is written: the run ids are
 * derived from it. 0, or the command's exit code with the message out.
 */
static int key_owner(const wb_sync_options *so, char *out, size_t cap)
{
	char err[512], *owner = NULL;
	wbs__api a;
	int rc;

	if (wbs__api_init(&a, so->base_url, so->api_key, err, sizeof(err))) {
		fprintf(stderr, "wb tensorboard: %s (or give --project ENTITY/PROJECT)\n", err);
		return 1;
	}
	rc = wb__owner_entity(a.base, a.key, TB_OWNER_TIMEOUT_MS, &owner);
	memset(a.key, 0, sizeof(a.key));
	if (rc != WB_OK) {
		fprintf(stderr, "wb tensorboard: cannot tell who owns the api key at %s: %s: %s (or give --project "
			"ENTITY/PROJECT)\n", a.base, wb_strerror(rc), wb_errmsg());
		return 1;
	}
	snprintf(out, cap, "%s", owner);
	free(owner);
	return 0;
}

static int cmd_import(int argc, char **argv)
{
	wb_sync_options so = WB_SYNC_OPTIONS_INIT;
	const char *logdir = NULL, *dir = getenv("WB_DIR"), *proj = NULL;
	char entity[WB__NAME_MAX + 1], project[WB__NAME_MAX + 1], root[PATH_MAX];
	strs dirs = {0};
	struct {
		char *dir;
		strs files;
	} *roots = NULL;
	int imported = 0, failed = 0, quiet = 0;
	wbs__progress pg;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char **slot = strcmp(a, "--project") == 0 ? &proj : strcmp(a, "--dir") == 0 ? &dir
				    : strcmp(a, "--base-url") == 0 ? &so.base_url : strcmp(a, "--api-key") == 0 ? &so.api_key : NULL;
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(tb_usage, stdout);
			return 0;
		}
		if (slot) {
			if (i + 1 >= argc) {
				fprintf(stderr, "wb tensorboard: option %s needs a value\n%s", a, tb_usage);
				return 2;
			}
			*slot = argv[++i];
		} else if (wbs__progress_quiet_arg(a)) {
			quiet = 1;
		} else if (strncmp(a, "--", 2) == 0 || logdir) {
			fprintf(stderr, "wb tensorboard: unexpected argument %s\n%s", a, tb_usage);
			return 2;
		} else {
			logdir = a;
		}
	}
	if (!logdir) {
		fprintf(stderr, "wb tensorboard: no LOGDIR given\n%s", tb_usage);
		return 2;
	}
	if (!proj) {
		const char *e = getenv("WB_ENTITY"), *p = getenv("WB_PROJECT");
		if (e && *e) {
			snprintf(entity, sizeof entity, "%s", e);
		} else {
			int rc = key_owner(&so, entity, sizeof entity);
			if (rc)
				return rc;
		}
		snprintf(project, sizeof project, "%s", p && *p ? p : "tensorboard");
		if (!wb__name_valid(entity) || !wb__name_valid(project)) {
			fprintf(stderr, "wb tensorboard: WB_ENTITY/WB_PROJECT are not valid names; use --project\n");
			return 2;
		}
	} else if (parse_project(proj, entity, project)) {
		fprintf(stderr, "wb tensorboard: --project is ENTITY/PROJECT, each [A-Za-z0-9_.-]{1,64}\n");
		return 2;
	}
	if (!realpath(logdir, root)) {
		fprintf(stderr, "wb tensorboard: %s: %s\n", logdir, strerror(errno));
		return 1;
	}
	if (!dir || !*dir)
		dir = "./wb";
	if (mkdir(dir, 0755) && errno != EEXIST) {
		fprintf(stderr, "wb tensorboard: cannot create %s: %s\n", dir, strerror(errno));
		return 1;
	}
	if (walk(root, &dirs, 0) || !(roots = calloc(DIRS_MAX, sizeof(*roots)))) {
		fprintf(stderr, "wb tensorboard: out of memory\n");
		strs_free(&dirs);
		return 1;
	}
	if (dirs.n > 1)
		qsort(dirs.v, dirs.n, sizeof(char *), cmp_str);
	wbs__progress_init(&pg, "wb tensorboard import", quiet);
	so.progress = wbs__progress_sdk;
	so.progress_arg = &pg;
	/* runs: the directories holding event files that are not below another such directory; the files of
	 * the ones below join the run above (sorted, so a run's directory comes before those under it) */
	{
		size_t nroots = 0;
		for (size_t d = 0; d < dirs.n; d++) {
			strs files = {0};
			size_t owner = SIZE_MAX;
			if (event_files(dirs.v[d], &files) || !files.n) {
				strs_free(&files);
				continue;
			}
			for (size_t r = 0; r < nroots; r++) {
				size_t n = strlen(roots[r].dir);
				if (strncmp(dirs.v[d], roots[r].dir, n) == 0 && dirs.v[d][n] == '/')
					owner = r; /* the last match is the deepest */
			}
			if (owner == SIZE_MAX) {
				if (nroots == DIRS_MAX || !(roots[nroots].dir = strdup(dirs.v[d]))) {
					strs_free(&files);
					continue;
				}
				roots[nroots].files = (strs){0};
				owner = nroots++;
			}
			for (size_t i = 0; i < files.n; i++)
				if (strs_add(&roots[owner].files, files.v[i])) {
					fprintf(stderr, "wb tensorboard: out of memory\n");
					failed++;
				}
			strs_free(&files);
		}
		for (size_t d = 0; d < nroots; d++) {
			importer im;
			char id[9], name[160], run_dir[PATH_MAX], logpath[PATH_MAX + 32], newpath[PATH_MAX + 32];
			const char *rel = roots[d].dir + strlen(root);
			const strs *files = &roots[d].files;
			uint64_t sent = 0, skipped = 0;
			cJSON *tb = NULL;
			int rc, again = 0;
			struct stat st;

			memset(&im, 0, sizeof im);
			im.subdir = "";
			if (*rel == '/')
				rel++;
			run_name(*rel ? rel : (strrchr(root, '/') ? strrchr(root, '/') + 1 : root), name, sizeof name);
			wbs__progress_note(&pg, "%s", name);
			wbs__progress_begin(&pg, "reading", WBS__PG_BYTES, 0);
			rc = read_dir_events(files, strlen(roots[d].dir), &im, &pg);
			wbs__progress_end(&pg);
			if (rc || !(tb = report_json(&im, roots[d].dir, files, strlen(roots[d].dir)))) {
				fprintf(stderr, "wb tensorboard: out of memory reading %s\n", roots[d].dir);
				failed++;
				goto next;
			}
			if (im.n > 1)
				qsort(im.items, im.n, sizeof(item), by_step);
			derived_id(entity, project, name, files->v[0], id);
			snprintf(run_dir, sizeof run_dir, "%s/run-%s", dir, id);
			snprintf(logpath, sizeof logpath, "%s/records.wbl", run_dir);
			snprintf(newpath, sizeof newpath, "%s/records.wbl.new", run_dir);
			if (mkdir(run_dir, 0755) && errno != EEXIST) {
				fprintf(stderr, "wb tensorboard: cannot create %s: %s\n", run_dir, strerror(errno));
				failed++;
				goto next;
			}
			again = stat(logpath, &st) == 0;
			unlink(newpath); /* left by an import that was killed */
			rc = write_run(run_dir, again ? "records.wbl.new" : "records.wbl", entity, project, id, name, &im, tb);
			tb = NULL;
			if (rc) {
				unlink(again ? newpath : logpath);
				failed++;
				goto next;
			}
			if (again) {
				int same = same_file(logpath, newpath);
				unlink(newpath);
				if (!same) {
					fprintf(stderr,
						"wb tensorboard: %s: refused: it was imported before as %s/%s/%s from other "
						"event data (its files changed since, e.g. training went on), and a run log "
						"cannot be rewritten under the same id; delete %s and that run to import it "
						"again\n",
						name, entity, project, id, run_dir);
					failed++;
					goto next;
				}
			}
			for (int i = 0; i < WB__TB_SKIP_COUNT; i++)
				skipped += im.rep.skipped[i];
			skipped += im.bad_keys;
			printf("%s: %llu scalars, %llu histograms, %llu images", name, (unsigned long long)im.rep.scalars,
			       (unsigned long long)im.rep.histograms, (unsigned long long)im.rep.images);
			if (im.rep.texts || im.rep.hparams)
				printf(", %llu texts, %llu hparams", (unsigned long long)im.rep.texts,
				       (unsigned long long)im.rep.hparams);
			if (skipped) {
				const char *sep = " (";
				printf("; skipped %llu", (unsigned long long)skipped);
				for (int i = 0; i < WB__TB_SKIP_COUNT; i++)
					if (im.rep.skipped[i]) {
						printf("%s%llu %s", sep, (unsigned long long)im.rep.skipped[i], wb__tb_skip_name[i]);
						sep = ", ";
					}
				if (im.bad_keys)
					printf("%s%llu key_too_long", sep, (unsigned long long)im.bad_keys);
				printf(")");
			}
			printf("\n");
			print_named(&im);
			if (again)
				printf("  already imported as %s/%s/%s: the same data, nothing new is added\n", entity,
				       project, id);
			rc = wb_sync(run_dir, &so, &sent);
			wbs__progress_end(&pg);
			if (rc != WB_OK) {
				fprintf(stderr, "wb tensorboard: upload of %s failed: %s: %s; retry with `wb sync %s`\n", name,
					wb_strerror(rc), wb_errmsg(), run_dir);
				failed++;
			} else {
				printf("  -> %s/%s/%s\n", entity, project, id);
				imported++;
			}
		next:
			cJSON_Delete(tb);
			importer_free(&im);
		}
		for (size_t d = 0; d < nroots; d++) {
			free(roots[d].dir);
			strs_free(&roots[d].files);
		}
	}
	strs_free(&dirs);
	free(roots);
	if (!imported && !failed) {
		fprintf(stderr, "wb tensorboard: no event files (*tfevents*) under %s\n", logdir);
		return 1;
	}
	return failed ? 1 : 0;
}

int wbs__cmd_tensorboard(int argc, char **argv)
{
	if (argc >= 1 && strcmp(argv[0], "import") == 0)
		return cmd_import(argc - 1, argv + 1);
	if (argc >= 1 && (strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "--help") == 0)) {
		fputs(tb_usage, stdout);
		return 0;
	}
	fputs(tb_usage, stderr);
	return 2;
}
