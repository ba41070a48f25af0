/*
 * cmd_tensorboard.c — `wb tensorboard import LOGDIR`: TensorBoard event
 * files into wb runs.
 *
 * Every directory under LOGDIR (LOGDIR included) that holds event files
 * (names containing "tfevents") becomes one run, named by its path below
 * LOGDIR. Its files are read in name order (tb/tbevents.c), what they hold
 * is ordered by step (stable: the files' order within a step), and written
 * as a run log in the run directory <dir>/run-<id>, exactly as an offline
 * SDK run would have written it: RUN (name, created_at = the first
 * wall_time, metadata.tensorboard = what was read and what was skipped, by
 * reason), METRICS per event with the event's wall_time as time (so the
 * server derives _timestamp from it), HISTOGRAM and IMAGE records, FINISH.
 * Then wb_sync uploads it, with its retries and exactly-once semantics; a
 * failed upload leaves the directory for `wb sync`.
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

#include "cmd.h"
#include "model/fields.h"
#include "progress.h"
#include "tbevents.h"
#include "wb.h"
#include "wire.h"
#include "wire_media.h"

static const char tb_usage[] =
	"usage: wb tensorboard import LOGDIR [--project ENTITY/PROJECT] [--dir DIR] [--base-url URL] [--api-key KEY]\n"
	"                             [-q|--quiet]\n"
	"\n"
	"Import TensorBoard event files: each directory under LOGDIR holding event files becomes a run\n"
	"(scalars, histograms, images). The run logs are written under DIR (default $WB_DIR, else ./wb)\n"
	"and uploaded; a failed upload can be repeated with `wb sync`. Records that cannot be read are\n"
	"skipped and counted, by reason.\n";

#define DIRS_MAX 4096
#define FILE_MAX ((size_t)1 << 34) /* 16 GiB: an event file is mapped, not read */

enum { IT_SCALAR, IT_HIST, IT_IMAGE };

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

typedef struct importer {
	item *items;
	size_t n, cap;
	int oom;
	wb__tb_report rep;
} importer;

static item *add(importer *im, int kind, double wall, int64_t step, const char *key)
{
	item *it;

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

static int on_scalar(void *arg, double wall, int64_t step, const char *tag, double value)
{
	item *it = add(arg, IT_SCALAR, wall, step, tag);
	if (!it)
		return -1;
	it->value = value;
	return 0;
}

static int on_hist(void *arg, double wall, int64_t step, const char *tag, const double *edges, const double *counts,
		   size_t nbins)
{
	item *it = add(arg, IT_HIST, wall, step, tag);
	if (!it)
		return -1;
	it->blen = wb__hist_body_size(nbins);
	if (!(it->body = malloc(it->blen)))
		return -1;
	wb__hist_put(it->body, 0, 0, 0, edges, counts, nbins);
	return 0;
}

static int on_image(void *arg, double wall, int64_t step, const char *tag, const uint8_t *bytes, size_t len)
{
	item *it = add(arg, IT_IMAGE, wall, step, tag);
	uint32_t w, h;

	if (!it)
		return -1;
	wb__image_sniff(bytes, len, &w, &h);
	if (w > WB__IMAGE_DIM_MAX || h > WB__IMAGE_DIM_MAX)
		w = h = 0;
	it->blen = wb__image_body_size(0, len);
	if (!(it->body = malloc(it->blen)))
		return -1;
	wb__image_put(it->body, NULL, 0, w, h, bytes, len);
	return 0;
}

static void importer_free(importer *im)
{
	for (size_t i = 0; i < im->n; i++) {
		free(im->items[i].key);
		free(im->items[i].body);
	}
	free(im->items);
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

static cJSON *report_json(const wb__tb_report *rep, const char *logdir, const strs *files)
{
	cJSON *tb = cJSON_CreateObject(), *arr, *sk;
	uint64_t total = 0;

	if (!tb || !cJSON_AddStringToObject(tb, "logdir", logdir) || !(arr = cJSON_AddArrayToObject(tb, "files")))
		goto fail;
	for (size_t i = 0; i < files->n; i++) {
		const char *base = strrchr(files->v[i], '/');
		if (!cJSON_AddItemToArray(arr, cJSON_CreateString(base ? base + 1 : files->v[i])))
			goto fail;
	}
	cJSON_AddNumberToObject(tb, "records", (double)rep->records);
	cJSON_AddNumberToObject(tb, "events", (double)rep->events);
	cJSON_AddNumberToObject(tb, "scalars", (double)rep->scalars);
	cJSON_AddNumberToObject(tb, "histograms", (double)rep->histograms);
	cJSON_AddNumberToObject(tb, "images", (double)rep->images);
	if (!(sk = cJSON_AddObjectToObject(tb, "skipped")))
		goto fail;
	for (int i = 0; i < WB__TB_SKIP_COUNT; i++) {
		total += rep->skipped[i];
		if (rep->skipped[i] && !cJSON_AddNumberToObject(sk, wb__tb_skip_name[i], (double)rep->skipped[i]))
			goto fail;
	}
	cJSON_AddNumberToObject(tb, "skipped_total", (double)total);
	return tb;
fail:
	cJSON_Delete(tb);
	return NULL;
}

/* Write the run log and run.json of one imported directory. 0 or -1 (message printed). */
static int write_run(const char *run_dir, const char *entity, const char *project, const char *id, const char *name,
		     importer *im, cJSON *tb)
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
	snprintf(path, sizeof path, "%s/records.wbl", run_dir);
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
			if (put_frame(f, seq++, it->kind == IT_HIST ? WB__REC_HISTOGRAM : WB__REC_IMAGE, buf, size))
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
		if (!text || !(g = fopen(path, "wx"))) {
			free(text);
			goto ioerr;
		}
		if (fputs(text, g) < 0 || fclose(g)) {
			free(text);
			goto ioerr;
		}
		free(text);
	}
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

/* Read the event files of one directory into im, pg counting their bytes. 0, or -1 (out of memory). */
static int read_dir_events(const strs *files, importer *im, wbs__progress *pg)
{
	wb__tb_sink sink = {im, on_scalar, on_hist, on_image};

	for (size_t i = 0; i < files->n; i++) {
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
		if (rc)
			return -1;
	}
	return 0;
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

static int cmd_import(int argc, char **argv)
{
	wb_sync_options so = WB_SYNC_OPTIONS_INIT;
	const char *logdir = NULL, *dir = getenv("WB_DIR"), *proj = NULL;
	char entity[WB__NAME_MAX + 1], project[WB__NAME_MAX + 1], root[PATH_MAX];
	strs dirs = {0};
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
		snprintf(entity, sizeof entity, "%s", e && *e ? e : "tensorboard");
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
	if (walk(root, &dirs, 0)) {
		fprintf(stderr, "wb tensorboard: out of memory\n");
		strs_free(&dirs);
		return 1;
	}
	if (dirs.n > 1)
		qsort(dirs.v, dirs.n, sizeof(char *), cmp_str);
	wbs__progress_init(&pg, "wb tensorboard import", quiet);
	so.progress = wbs__progress_sdk;
	so.progress_arg = &pg;
	for (size_t d = 0; d < dirs.n; d++) {
		strs files = {0};
		importer im;
		char id[9], name[160], run_dir[PATH_MAX];
		const char *rel = dirs.v[d] + strlen(root);
		uint64_t sent = 0, skipped = 0;
		cJSON *tb = NULL;
		int rc;

		memset(&im, 0, sizeof im);
		if (event_files(dirs.v[d], &files) || !files.n) {
			strs_free(&files);
			continue;
		}
		if (*rel == '/')
			rel++;
		run_name(*rel ? rel : (strrchr(root, '/') ? strrchr(root, '/') + 1 : root), name, sizeof name);
		wbs__progress_note(&pg, "%s", name);
		wbs__progress_begin(&pg, "reading", WBS__PG_BYTES, 0);
		rc = read_dir_events(&files, &im, &pg);
		wbs__progress_end(&pg);
		if (rc || !(tb = report_json(&im.rep, dirs.v[d], &files))) {
			fprintf(stderr, "wb tensorboard: out of memory reading %s\n", dirs.v[d]);
			failed++;
			goto next;
		}
		if (im.n > 1)
			qsort(im.items, im.n, sizeof(item), by_step);
		random_id(id);
		snprintf(run_dir, sizeof run_dir, "%s/run-%s", dir, id);
		if (mkdir(run_dir, 0755)) {
			fprintf(stderr, "wb tensorboard: cannot create %s: %s\n", run_dir, strerror(errno));
			failed++;
			goto next;
		}
		rc = write_run(run_dir, entity, project, id, name, &im, tb);
		tb = NULL;
		if (rc) {
			failed++;
			goto next;
		}
		for (int i = 0; i < WB__TB_SKIP_COUNT; i++)
			skipped += im.rep.skipped[i];
		printf("%s: %llu scalars, %llu histograms, %llu images", name, (unsigned long long)im.rep.scalars,
		       (unsigned long long)im.rep.histograms, (unsigned long long)im.rep.images);
		if (skipped) {
			const char *sep = " (";
			printf("; skipped %llu", (unsigned long long)skipped);
			for (int i = 0; i < WB__TB_SKIP_COUNT; i++)
				if (im.rep.skipped[i]) {
					printf("%s%llu %s", sep, (unsigned long long)im.rep.skipped[i], wb__tb_skip_name[i]);
					sep = ", ";
				}
			printf(")");
		}
		printf("\n");
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
		strs_free(&files);
	}
	strs_free(&dirs);
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
