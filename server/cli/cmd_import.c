/*
 * cmd_import.c — `wb import ARCHIVE [--base-url URL] [--api-key KEY]`:
 * load a `wb export` archive (xfer.h) into a server through its HTTP API.
 *
 * Why through the ingest route. The server's one way in for a run's data
 * is its record log (schema/wire.md), and replaying a log is what it does
 * exactly once and bit-exactly. So each run is turned back into records:
 * RUN (name, group, job type, notes, tags, metadata, created_at), CODE and
 * PATCH (the code capture), CONFIG, DEFINE (metric definitions), METRICS
 * rebuilt from the full-resolution series (one record per step and
 * "round", with the step's time from the derived _timestamp series so that
 * it is derived identically), SYSTEM for system/ series, HISTOGRAM, IMAGE
 * and TABLE for the rich data (with their own steps, times and captions),
 * SUMMARY (the summary as explicit values, so it is identical whatever was
 * computed and whatever was set), FINISH with the original exit code and
 * time, and ARTIFACT_USE for the versions the run used; a crashed run is
 * marked crashed through the finish route.
 *
 * Artifacts go the way the SDK sends them: each file's blob through the
 * chunked upload route (only those the target lacks, resumed where an
 * interrupted import left one), then each version committed with its
 * producing run, files, references and metadata, oldest first across all
 * artifacts, so every version gets its original number. A number the
 * source no longer has (a deleted version) is taken by a placeholder that
 * is deleted at once, as it was on the source. Then the aliases are put
 * where they were, and the uses replayed in their original order.
 *
 * Nothing is written before everything is checked. A first pass over the
 * archive refuses an entry outside the layout (an absolute path, a ".."
 * segment, a link), hashes every image and blob against its name (images
 * are kept in a temporary directory until their runs are sent; blobs are
 * only hashed), and keeps the small JSON and CSV entries in memory. Then
 * every run is turned into records without sending them, every artifact's
 * JSON is checked (names, paths, hashes, sizes, version order, the blob of
 * each file present), and the target is asked whether any of the runs or
 * artifacts exists: one that does is refused, not merged. Only then is
 * anything sent, and the blobs are read a second time, streamed from the
 * archive to the server in chunks: a blob of gigabytes is never in memory.
 *
 * Projects the import makes get the archive's created_at, updated_at and
 * visibility, last (every run and version sent touches updated_at); a
 * project the target had already keeps its own. What differs afterwards
 * are the target's own times: runs' updated_at,
 * heartbeat_at and last_seq (the number of records it took). Versions
 * are committed with their created_at and uses replayed with their time. Lineage to a run that is not in the
 * archive is kept only when the target has that run.
 *
 * The parts: import_archive.c, import_runs.c, import_artifacts.c,
 * import_blobs.c (import.h); this file checks and sends in that order.
 *
 * Progress (progress.h): the bytes of the archive read in the first pass,
 * the runs sent, then the bytes of the blobs sent in the second pass.
 */
#include "cmd.h"
#include "import.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "wire.h"

static const char import_usage[] = "usage: wb import ARCHIVE [--base-url URL] [--api-key KEY] [-q|--quiet]\n";

/* 0 if GET path is 404 on the target; else -1 with why (what exists). */
int wbs__import_absent(const wbs__api *a, const char *path, const char *what, char *err, size_t errlen)
{
	wbs__api_resp r;

	if (wbs__api_do(a, "GET", path, NULL, 0, NULL, &r, err, errlen))
		return -1;
	free(r.body);
	if (r.status == 404)
		return 0;
	snprintf(err, errlen, "%s %s on the target: nothing was imported", what,
		 r.status == 200 ? "exists already" : "cannot be checked");
	return -1;
}

/* A project of the manifest, and whether this import makes it (only then are its times and visibility
 * restored: a project the target has already is the target's own). */
typedef struct proj_st {
	const char *ent, *name, *vis;
	double created, updated;
	int restore;
} proj_st;

/* Check the manifest's project entry it, into ps, and ask the target whether it has the project. 0, or -1
 * with err. */
static int plan_project(const wbs__api *a, const cJSON *it, proj_st *ps, char *err, size_t errlen)
{
	const cJSON *c = cJSON_GetObjectItem(it, "created_at"), *u = cJSON_GetObjectItem(it, "updated_at");
	char path[600];
	wbs__api_resp r;

	ps->ent = WBS__JSTR(it, "entity");
	ps->name = WBS__JSTR(it, "name");
	ps->vis = WBS__JSTR(it, "visibility");
	if (!wb__name_valid(ps->ent) || !wb__name_valid(ps->name)) {
		snprintf(err, errlen, "manifest.json names a project with an invalid name");
		return -1;
	}
	if (!cJSON_IsNumber(c) || !cJSON_IsNumber(u) || !isfinite(c->valuedouble) || !isfinite(u->valuedouble) ||
	    c->valuedouble < 0 || c->valuedouble > u->valuedouble ||
	    (ps->vis && strcmp(ps->vis, "private") != 0 && strcmp(ps->vis, "public") != 0)) {
		snprintf(err, errlen, "manifest.json: project %s/%s has invalid times or visibility", ps->ent, ps->name);
		return -1;
	}
	ps->created = c->valuedouble;
	ps->updated = u->valuedouble;
	snprintf(path, sizeof(path), "/api/v1/projects/%s/%s", ps->ent, ps->name);
	if (wbs__api_do(a, "GET", path, NULL, 0, NULL, &r, err, errlen))
		return -1;
	free(r.body);
	ps->restore = r.status == 404;
	return 0;
}

/* Give the projects this import made their times and visibility from the archive, last: every run and
 * version sent before touched updated_at. Setting them needs admin of the project; an importer with
 * less (an editor of a team) is told, and the project keeps the target's times. 0, or -1 with err. */
static int restore_projects(const wbs__api *a, const proj_st *ps, size_t n, char *err, size_t errlen)
{
	char path[600], body[256];
	wbs__api_resp r;

	for (size_t i = 0; i < n; i++) {
		if (!ps[i].restore)
			continue;
		snprintf(path, sizeof(path), "/api/v1/projects/%s/%s", ps[i].ent, ps[i].name);
		snprintf(body, sizeof(body), "{%s%s%s\"created_at\":%.17g,\"updated_at\":%.17g}",
			 ps[i].vis ? "\"visibility\":\"" : "", ps[i].vis ? ps[i].vis : "", ps[i].vis ? "\"," : "",
			 ps[i].created, ps[i].updated);
		if (wbs__api_do(a, "PUT", path, body, strlen(body), "application/json", &r, err, errlen))
			return -1;
		free(r.body);
		if (r.status == 403) {
			fprintf(stderr, "wb import: project %s/%s keeps this server's times and visibility: setting them "
					"needs admin of the project\n", ps[i].ent, ps[i].name);
		} else if (r.status != 200) {
			snprintf(err, errlen, "PUT %s: http %ld: the project's times were not restored", path, r.status);
			return -1;
		}
	}
	return 0;
}

int wbs__cmd_import(int argc, char **argv)
{
	const char *in = NULL, *base = NULL, *key = NULL;
	char err[1024] = "", path[600], what[300];
	files f;
	plan p;
	cJSON *man = NULL;
	run_st *runs = NULL;
	proj_st *projs = NULL;
	size_t nprojs = 0;
	const entry *e;
	const cJSON *it;
	wbs__api a;
	size_t nruns = 0;
	int rc = 1, quiet = 0;
	wbs__progress pg;

	memset(&f, 0, sizeof(f));
	memset(&p, 0, sizeof(p));
	for (int i = 0; i < argc; i++) {
		const char *s = argv[i];
		if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
			fputs(import_usage, stdout);
			return 0;
		}
		if ((!strcmp(s, "--base-url") || !strcmp(s, "--api-key")) && i + 1 < argc) {
			if (s[2] == 'b')
				base = argv[++i];
			else
				key = argv[++i];
		} else if (wbs__progress_quiet_arg(s)) {
			quiet = 1;
		} else if (s[0] == '-' || in) {
			fprintf(stderr, "wb import: unexpected argument %s\n%s", s, import_usage);
			return 2;
		} else
			in = s;
	}
	if (!in) {
		fprintf(stderr, "wb import: no archive given\n%s", import_usage);
		return 2;
	}
	wbs__progress_init(&pg, "wb import", quiet);
	f.pg = &pg;
	wbs__api_global_init();
	if (wbs__api_init(&a, base, key, err, sizeof(err)) || wbs__import_read_archive(in, &f, err, sizeof(err)))
		goto done;
	wbs__progress_end(&pg);
	if (!(e = wbs__import_find(&f, "manifest.json")) || !(man = cJSON_ParseWithLength(e->data, e->len)) || !WBS__JSTR(man, "format") ||
	    strcmp(WBS__JSTR(man, "format"), WBS__XFER_FORMAT) != 0) {
		snprintf(err, sizeof(err), "%s is not a wb export archive (no manifest.json)", in);
		goto done;
	}
	f.version = (int)wbs__import_json_count(cJSON_GetObjectItem(man, "version"));
	if (f.version < 1 || f.version > WBS__XFER_VERSION) {
		snprintf(err, sizeof(err), "%s is of format version %d; this wb reads versions 1 to %d", in, f.version,
			 WBS__XFER_VERSION);
		goto done;
	}

	/* Check everything before anything is written. */
	if (!(runs = calloc((size_t)cJSON_GetArraySize(cJSON_GetObjectItem(man, "runs")) + 1, sizeof(*runs))) ||
	    !(p.a = calloc((size_t)cJSON_GetArraySize(cJSON_GetObjectItem(man, "artifacts")) + 1, sizeof(*p.a))))
		goto done;
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(man, "runs"))
	{
		run_st *rs = &runs[nruns];
		rs->ent = WBS__JSTR(it, "entity");
		rs->proj = WBS__JSTR(it, "project");
		rs->id = WBS__JSTR(it, "id");
		if (!wb__name_valid(rs->ent) || !wb__name_valid(rs->proj) || !wb__name_valid(rs->id)) {
			snprintf(err, sizeof(err), "manifest.json names a run with an invalid name");
			goto done;
		}
		if (wbs__import_run_find(runs, nruns, rs->ent, rs->proj, rs->id)) {
			snprintf(err, sizeof(err), "manifest.json names run %s/%s/%s twice", rs->ent, rs->proj, rs->id);
			goto done;
		}
		nruns++;
		if (wbs__import_run(&a, &f, rs, 1, err, sizeof(err)))
			goto done;
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(man, "artifacts"))
	{
		const char *ent = WBS__JSTR(it, "entity"), *proj = WBS__JSTR(it, "project"), *name = WBS__JSTR(it, "name");
		if (!wb__name_valid(ent) || !wb__name_valid(proj) || !wb__name_valid(name) || !strcmp(name, "blobs")) {
			snprintf(err, sizeof(err), "manifest.json names an artifact with an invalid name");
			goto done;
		}
		for (size_t i = 0; i < p.na; i++)
			if (!strcmp(p.a[i].ent, ent) && !strcmp(p.a[i].proj, proj) && !strcmp(p.a[i].name, name)) {
				snprintf(err, sizeof(err), "manifest.json names artifact %s/%s/%s twice", ent, proj, name);
				goto done;
			}
		if (wbs__import_plan_artifact(&f, &p, runs, nruns, ent, proj, name, err, sizeof(err)))
			goto done;
	}
	/* projects: an archive of an older wb has none */
	if (!(projs = calloc((size_t)cJSON_GetArraySize(cJSON_GetObjectItem(man, "projects")) + 1, sizeof(*projs))))
		goto done;
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(man, "projects"))
	{
		for (size_t i = 0; i < nprojs; i++)
			if (!strcmp(projs[i].ent, WBS__JSTR(it, "entity") ? WBS__JSTR(it, "entity") : "") &&
			    !strcmp(projs[i].name, WBS__JSTR(it, "name") ? WBS__JSTR(it, "name") : "")) {
				snprintf(err, sizeof(err), "manifest.json names project %s/%s twice", projs[i].ent,
					 projs[i].name);
				goto done;
			}
		if (plan_project(&a, it, &projs[nprojs], err, sizeof(err)))
			goto done;
		nprojs++;
	}
	for (size_t i = 0; i < nruns; i++) {
		snprintf(path, sizeof(path), "/api/v1/projects/%s/%s/runs/%s", runs[i].ent, runs[i].proj, runs[i].id);
		snprintf(what, sizeof(what), "run %s/%s/%s", runs[i].ent, runs[i].proj, runs[i].id);
		if (wbs__import_absent(&a, path, what, err, sizeof(err)))
			goto done;
	}
	for (size_t i = 0; i < p.na; i++) {
		snprintf(path, sizeof(path), "/api/v1/projects/%s/%s/artifacts/%s", p.a[i].ent, p.a[i].proj, p.a[i].name);
		snprintf(what, sizeof(what), "artifact %s/%s/%s", p.a[i].ent, p.a[i].proj, p.a[i].name);
		if (wbs__import_absent(&a, path, what, err, sizeof(err)))
			goto done;
	}

	/* Write: the runs, the blobs, the versions, then aliases, uses and crashed states. */
	if (nruns)
		wbs__progress_begin(&pg, "runs", WBS__PG_COUNT, nruns);
	for (size_t i = 0; i < nruns; i++) {
		wbs__progress_note(&pg, "%s/%s/%s", runs[i].ent, runs[i].proj, runs[i].id);
		if (wbs__import_run(&a, &f, &runs[i], 0, err, sizeof(err)))
			goto done;
		wbs__progress_add(&pg, 1);
	}
	wbs__progress_note(&pg, "%s", "");
	if (wbs__import_upload_blobs(&a, in, &f, err, sizeof(err)) || wbs__import_commit_all(&a, &p, err, sizeof(err)) ||
	    wbs__import_links_all(&a, &p, runs, nruns, err, sizeof(err)) || restore_projects(&a, projs, nprojs, err, sizeof(err)))
		goto done;
	wbs__progress_end(&pg);
	printf("%s: %zu runs and %zu artifacts imported\n", in, nruns, p.na);
	rc = 0;
done:
	wbs__progress_end(&pg);
	if (rc)
		fprintf(stderr, "wb import: %s\n", err[0] ? err : "out of memory");
	cJSON_Delete(man);
	wbs__import_plan_free(&p);
	free(runs);
	free(projs);
	wbs__import_files_free(&f);
	wbs__api_global_cleanup();
	return rc;
}
