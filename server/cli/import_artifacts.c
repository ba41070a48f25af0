/*
 * import_artifacts.c — the artifacts of the archive planned, checked and
 * committed the way the SDK commits them: each version with its producing
 * run, files, references and metadata, oldest first across artifacts so
 * that every version gets its original number (a number the source no
 * longer has is taken by a placeholder deleted at once); then the aliases
 * where they were and the uses replayed in their original order.
 */
#include "import.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_artifact.h"
#include "util/sha256.h"
#include "json_exact.h"
#include "wire.h"

void wbs__import_plan_free(plan *p)
{
	for (size_t i = 0; i < p->na; i++) {
		for (size_t k = 0; k < p->a[i].n; k++)
			free(p->a[i].v[k].commit);
		free(p->a[i].v);
		cJSON_Delete(p->a[i].doc);
	}
	free(p->a);
	free(p->l);
}

static alink *link_add(plan *p)
{
	if (p->nl == p->capl) {
		size_t nc = p->capl ? p->capl * 2 : 32;
		alink *n = realloc(p->l, nc * sizeof(*n));
		if (!n)
			return NULL;
		p->l = n;
		p->capl = nc;
	}
	memset(&p->l[p->nl], 0, sizeof(*p->l));
	p->l[p->nl].order = p->nl;
	return &p->l[p->nl++];
}

run_st *wbs__import_run_find(run_st *runs, size_t n, const char *ent, const char *proj, const char *id)
{
	for (size_t i = 0; id && i < n; i++)
		if (!strcmp(runs[i].ent, ent) && !strcmp(runs[i].proj, proj) && !strcmp(runs[i].id, id))
			return &runs[i];
	return NULL;
}

/* The commit body of version ver (GET .../artifacts/NAME/vN as exported): type, producer, metadata, files. */
static char *commit_body(files *f, aplan *ap, const cJSON *ver, char *why, size_t whylen)
{
	const cJSON *info = cJSON_GetObjectItem(ver, "info"), *meta = cJSON_GetObjectItem(ver, "metadata"), *it;
	const char *producer = WBS__JSTR(info, "producer");
	cJSON *c = cJSON_CreateObject(), *fl;
	char *txt = NULL;

	if (!c || !cJSON_AddStringToObject(c, "type", ap->type) || !(fl = cJSON_AddArrayToObject(c, "files")))
		goto oom;
	if (producer && (!wb__name_valid(producer) || !cJSON_AddStringToObject(c, "run_id", producer))) {
		snprintf(why, whylen, "producer %.80s is not a run id", producer);
		goto done;
	}
	if (cJSON_IsNumber(cJSON_GetObjectItem(info, "created_at")) &&
	    !cJSON_AddNumberToObject(c, "created_at", cJSON_GetObjectItem(info, "created_at")->valuedouble))
		goto oom; /* the version keeps its time */
	if (meta && !cJSON_IsNull(meta)) {
		if (!cJSON_IsObject(meta)) {
			snprintf(why, whylen, "metadata is not an object");
			goto done;
		}
		if (!cJSON_AddItemToObject(c, "metadata", cJSON_Duplicate(meta, 1)))
			goto oom;
	}
	if (!cJSON_IsArray(cJSON_GetObjectItem(ver, "files"))) {
		snprintf(why, whylen, "no files");
		goto done;
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(ver, "files"))
	{
		const char *path = WBS__JSTR(it, "path"), *sha = WBS__JSTR(it, "sha256"), *ref = WBS__JSTR(it, "ref");
		int64_t size = wbs__import_json_count(cJSON_GetObjectItem(it, "size"));
		cJSON *o;
		if (!path || !wbs__art_path_valid(path, strlen(path)) || !sha || !wbs__sha256_hex_valid(sha) || size < 0) {
			snprintf(why, whylen, "file %.200s: no valid path, sha256 or size", path ? path : "(no path)");
			goto done;
		}
		if (!ref) {
			bytes_ent *b = wbs__import_find_bytes(f, sha, 1);
			if (!b || b->size != (uint64_t)size) {
				snprintf(why, whylen, "file %.200s: blobs/%s is %s", path, sha,
					 b ? "not of the file's size" : "not in the archive");
				goto done;
			}
			if (!b->ent) {
				b->ent = ap->ent;
				b->proj = ap->proj;
			}
		}
		if (!(o = cJSON_CreateObject()) || !cJSON_AddItemToArray(fl, o) || !cJSON_AddStringToObject(o, "path", path) ||
		    !cJSON_AddStringToObject(o, "sha256", sha) || !cJSON_AddNumberToObject(o, "size", (double)size) ||
		    (ref && !cJSON_AddStringToObject(o, "ref", ref)))
			goto oom;
	}
	{
		wbs__buf b; /* exact numbers in the metadata */
		wbs__buf_init(&b, WBS__ART_MANIFEST_MAX);
		wbs__json_tree(&b, c);
		if (!b.err)
			txt = wbs__buf_take(&b);
		wbs__buf_free(&b);
		if (!txt) {
			snprintf(why, whylen, "the version's manifest is too large");
			goto done;
		}
	}
	goto done;
oom:
	snprintf(why, whylen, "out of memory");
done:
	cJSON_Delete(c);
	return txt;
}

/*
 * Check artifacts/E/P/NAME.json and plan its commits, aliases and uses
 * (uses only by runs of the archive: their records are ours to extend).
 */
int wbs__import_plan_artifact(files *f, plan *p, run_st *runs, size_t nruns, const char *ent, const char *proj,
			 const char *name, char *err, size_t errlen)
{
	char ename[300], why[300] = "";
	const entry *e;
	aplan *ap = &p->a[p->na];
	const cJSON *art, *vers, *ver, *it;
	int64_t prev = -1;

	memset(ap, 0, sizeof(*ap));
	p->na++;
	snprintf(ename, sizeof(ename), "artifacts/%s/%s/%s.json", ent, proj, name);
	if (!(e = wbs__import_find(f, ename)) || !(ap->doc = wb__json_parse_exact(e->data, e->len))) {
		snprintf(err, errlen, "%s is missing or not json", ename);
		return -1;
	}
	art = cJSON_GetObjectItem(ap->doc, "artifact");
	vers = cJSON_GetObjectItem(ap->doc, "versions");
	ap->ent = ent;
	ap->proj = proj;
	ap->name = name;
	ap->type = WBS__JSTR(art, "type");
	if (!ap->type || !wb__name_valid(ap->type) || !cJSON_IsArray(vers) || !WBS__JSTR(art, "name") || strcmp(WBS__JSTR(art, "name"), name)) {
		snprintf(err, errlen, "%s: not an artifact (name, type, versions)", ename);
		return -1;
	}
	if (cJSON_GetArraySize(vers) && !(ap->v = calloc((size_t)cJSON_GetArraySize(vers), sizeof(*ap->v))))
		goto oom;
	cJSON_ArrayForEach(ver, vers)
	{
		const cJSON *info = cJSON_GetObjectItem(ver, "info");
		aver *av = &ap->v[ap->n];
		av->index = wbs__import_json_count(cJSON_GetObjectItem(info, "index"));
		av->created = cJSON_GetNumberValue(cJSON_GetObjectItem(info, "created_at"));
		if (av->index <= prev) {
			snprintf(err, errlen, "%s: versions must have numbers, oldest first", ename);
			return -1;
		}
		prev = av->index;
		if (!(av->commit = commit_body(f, ap, ver, why, sizeof(why)))) {
			snprintf(err, errlen, "%s: v%" PRId64 ": %s", ename, av->index, why);
			return -1;
		}
		ap->n++;
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(info, "aliases"))
		{
			alink *l;
			if (!cJSON_IsString(it) || !strcmp(it->valuestring, "latest"))
				continue; /* latest is the server's own */
			if (!wb__name_valid(it->valuestring)) {
				snprintf(err, errlen, "%s: alias %.80s is not a name", ename, it->valuestring);
				return -1;
			}
			if (!(l = link_add(p)))
				goto oom;
			l->p = ap;
			l->alias = it->valuestring;
			l->index = av->index;
		}
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(ver, "used_by"))
		{
			run_st *rs = wbs__import_run_find(runs, nruns, ent, proj, WBS__JSTR(it, "run_id"));
			alink *l;
			if (!rs)
				continue;
			if (!(l = link_add(p)))
				goto oom;
			l->p = ap;
			l->run = rs;
			l->index = av->index;
			l->at = cJSON_GetNumberValue(cJSON_GetObjectItem(it, "at"));
		}
	}
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* Uses in their original order (the time they happened, then the archive's order). */
static int cmp_link(const void *pa, const void *pb)
{
	const alink *a = pa, *b = pb;
	if (!a->alias != !b->alias)
		return a->alias ? -1 : 1;
	if (!a->alias && a->at != b->at)
		return a->at < b->at ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

/* POST one commit body; the version number it made must be want. */
static int commit(const wbs__api *a, const aplan *ap, const char *body, int64_t want, char *err, size_t errlen)
{
	char path[512];
	wbs__api_resp r;
	cJSON *j = NULL;
	int rc = -1;

	snprintf(path, sizeof(path), "/api/v1/projects/%s/%s/artifacts/%s", ap->ent, ap->proj, ap->name);
	if (wbs__api_call(a, "POST", path, body, strlen(body), "application/json", 201, &r, err, errlen))
		return -1;
	if (!(j = cJSON_ParseWithLength(r.body, r.len)) || wbs__import_json_count(cJSON_GetObjectItem(j, "index")) != want)
		snprintf(err, errlen, "POST %s: the target numbered v%" PRId64 " otherwise", path, want);
	else
		rc = 0;
	cJSON_Delete(j);
	free(r.body);
	return rc;
}

/* Take version number ap->target with a placeholder and delete it: the number stays used, as on the source. */
static int skip_number(const wbs__api *a, aplan *ap, char *err, size_t errlen)
{
	/* the artifact's own time: what the source had when its first version came */
	const cJSON *t = cJSON_GetObjectItem(cJSON_GetObjectItem(ap->doc, "artifact"), "created_at");
	char body[512], path[512], at[64] = "";
	wbs__api_resp r;

	if (cJSON_IsNumber(t) && t->valuedouble > 0)
		snprintf(at, sizeof(at), "\"created_at\":%.17g,", t->valuedouble);
	snprintf(body, sizeof(body),
		 "{\"type\":\"%s\",%s\"files\":[{\"path\":\"deleted\",\"sha256\":\"%064d\",\"size\":0,"
		 "\"ref\":\"wb-import://deleted/%s/v%" PRId64 "\"}]}",
		 ap->type, at, 0, ap->name, ap->target);
	if (commit(a, ap, body, ap->target, err, errlen))
		return -1;
	snprintf(path, sizeof(path), "/api/v1/projects/%s/%s/artifacts/%s/v%" PRId64, ap->ent, ap->proj, ap->name,
		 ap->target);
	if (wbs__api_call(a, "DELETE", path, NULL, 0, NULL, 200, &r, err, errlen))
		return -1;
	free(r.body);
	ap->target++;
	return 0;
}

/*
 * Every version of every artifact, oldest first across artifacts (so the
 * runs' lists of what they produced keep their order), each with its
 * original number; an artifact left with no version is made and emptied.
 */
int wbs__import_commit_all(const wbs__api *a, plan *p, char *err, size_t errlen)
{
	for (size_t i = 0; i < p->na; i++)
		if (p->a[i].n == 0 && skip_number(a, &p->a[i], err, errlen))
			return -1;
	for (;;) {
		aplan *best = NULL;
		for (size_t i = 0; i < p->na; i++) {
			aplan *ap = &p->a[i];
			if (ap->next < ap->n && (!best || ap->v[ap->next].created < best->v[best->next].created))
				best = ap;
		}
		if (!best)
			return 0;
		while (best->target < best->v[best->next].index)
			if (skip_number(a, best, err, errlen))
				return -1;
		if (commit(a, best, best->v[best->next].commit, best->v[best->next].index, err, errlen))
			return -1;
		best->target++;
		best->next++;
	}
}

/* The aliases where they were, then the uses in their order, then the crashed runs marked. */
int wbs__import_links_all(const wbs__api *a, plan *p, run_st *runs, size_t nruns, char *err, size_t errlen)
{
	char path[600], body[64];
	wbs__api_resp r;

	if (p->nl)
		qsort(p->l, p->nl, sizeof(*p->l), cmp_link);
	for (size_t i = 0; i < p->nl; i++) {
		const alink *l = &p->l[i];
		if (l->alias) {
			snprintf(path, sizeof(path), "/api/v1/projects/%s/%s/artifacts/%s/aliases/%s", l->p->ent, l->p->proj,
				 l->p->name, l->alias);
			snprintf(body, sizeof(body), "{\"version\":\"v%" PRId64 "\"}", l->index);
			if (wbs__api_call(a, "PUT", path, body, strlen(body), "application/json", 200, &r, err, errlen))
				return -1;
			free(r.body);
		} else {
			cJSON *j = cJSON_CreateObject();
			int rc = !j || !cJSON_AddStringToObject(j, "artifact", l->p->name) ||
					 !cJSON_AddNumberToObject(j, "version", (double)l->index) ||
					 (l->at > 0 && !cJSON_AddNumberToObject(j, "time", l->at))
				 ? -1
				 : wbs__import_send_record(a, l->run, WB__REC_ARTIFACT_USE, j, err, errlen);
			cJSON_Delete(j);
			if (rc)
				return -1;
		}
	}
	for (size_t i = 0; i < nruns; i++) {
		if (!runs[i].crashed)
			continue;
		char fin[96];
		snprintf(path, sizeof(path), "/api/v1/projects/%s/%s/runs/%s/finish", runs[i].ent, runs[i].proj, runs[i].id);
		/* with its last sign of life, so its duration (to the last heartbeat) is the source's */
		if (runs[i].seen[0])
			snprintf(fin, sizeof(fin), "{\"crashed\":true,\"heartbeat_at\":%s}", runs[i].seen);
		else
			snprintf(fin, sizeof(fin), "{\"crashed\":true}");
		if (wbs__api_call(a, "POST", path, fin, strlen(fin), "application/json", 200, &r, err, errlen))
			return -1;
		free(r.body);
	}
	return 0;
}
