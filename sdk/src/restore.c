/*
 * restore.c — `wb restore RUN [DIR]` inside libwb.
 *
 * The server holds the capture (GET .../code and .../code/<patch>); the
 * SDK already knows how to find the server (settings.c) and talk to it
 * (upload.c), and gitcap.c knows how to turn the capture back into a tree.
 * This file only wires the three together, so the CLI has no HTTP client
 * or libgit2 code of its own.
 */
#include "restore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "gitcap.h"
#include "json.h"
#include "names.h"
#include "settings.h"
#include "upload.h"
#include "util.h"

#define RESTORE_TIMEOUT_MS 120000
#define CODE_JSON_MAX (4u * 1024u * 1024u)

/*
 * Split "e/p/id" or "<base>/<e>/<p>/runs/<id>" into parts (copied into
 * buf). *base receives the URL's base, or NULL. WB_OK or WB_EINVAL.
 */
static int parse_run_ref(const char *ref, char *buf, size_t cap, const char **e, const char **p, const char **id,
			 char **base)
{
	char *parts[8], *s, *save = NULL;
	size_t n = 0, len = strlen(ref);

	*base = NULL;
	if (len >= cap)
		return wb__error(WB_EINVAL, "run reference too long");
	memcpy(buf, ref, len + 1);
	while (len && buf[len - 1] == '/')
		buf[--len] = '\0';
	if (strstr(buf, "://")) {
		/* .../<e>/<p>/runs/<id>: take the last four segments. */
		char *segs[4];
		for (int i = 3; i >= 0; i--) {
			char *slash = strrchr(buf, '/');
			if (!slash)
				return wb__error(WB_EINVAL, "a run URL ends in /<entity>/<project>/runs/<id>: %s", ref);
			segs[i] = slash + 1;
			*slash = '\0';
		}
		if (strcmp(segs[2], "runs") != 0 || !strstr(buf, "://"))
			return wb__error(WB_EINVAL, "a run URL ends in /<entity>/<project>/runs/<id>: %s", ref);
		if (!(*base = strdup(buf)))
			return wb__error(WB_ENOMEM, "out of memory");
		*e = segs[0];
		*p = segs[1];
		*id = segs[3];
	} else {
		for (s = strtok_r(buf, "/", &save); s && n < 8; s = strtok_r(NULL, "/", &save))
			parts[n++] = s;
		if (n != 3)
			return wb__error(WB_EINVAL, "a run is entity/project/run-id or its URL, not %s", ref);
		*e = parts[0];
		*p = parts[1];
		*id = parts[2];
	}
	if (!wb__name_valid(*e) || !wb__name_valid(*p) || !wb__name_valid(*id)) {
		free(*base);
		*base = NULL;
		return wb__error(WB_EINVAL, "entity, project and run id match [A-Za-z0-9_.-]{1,64}: %s", ref);
	}
	return WB_OK;
}

/* Tell o's progress callback (if any) where phase what is. */
static void restore_progress(const wb__restore_opts *o, const char *what, uint64_t done, uint64_t total)
{
	wb_progress p = {what, done, total};

	if (o->progress)
		o->progress(&p, o->progress_arg);
}

/* GET .../code/<name> if the capture lists it. */
static int fetch_patch(wb__http *h, const cJSON *code, const char *name, int64_t deadline, char **data,
		       size_t *len, int *truncated)
{
	const cJSON *e;
	char suffix[96];

	*data = NULL;
	*len = 0;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(code, "patches"))
	{
		const char *n = wb__json_get_str(e, "name");
		if (!n || strcmp(n, name) != 0)
			continue;
		if (truncated)
			*truncated = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "truncated"));
		snprintf(suffix, sizeof suffix, "/code/%s", name);
		return wb__http_get_raw(h, suffix, WB__FRAME_MAX_PAYLOAD, deadline, data, len);
	}
	return WB_OK;
}

int wb__restore_run(const wb__restore_opts *o, wb__restore_report *rep)
{
	char ref[1024], *url_base = NULL, *file_url = NULL, *key = NULL, *base = NULL, *body = NULL;
	char *diff = NULL, *up = NULL;
	const char *e = NULL, *p = NULL, *id = NULL, *commit;
	size_t blen = 0, dlen = 0, ulen = 0, nsub = 0;
	wb__gitpatch subp[WB__GIT_SUBMODULES_MAX];
	wb__restore_outcome out;
	const cJSON *sm;
	int64_t deadline = wb__mono_ms() + RESTORE_TIMEOUT_MS;
	wb__http *h = NULL;
	cJSON *code = NULL;
	wb__restore_input in = {0};
	uint64_t fetched = 0, patches;
	int rc;

	memset(rep, 0, sizeof *rep);
	if ((rc = parse_run_ref(o->run, ref, sizeof ref, &e, &p, &id, &url_base)))
		return rc;
	{
		const char *b = wb__setting_str(o->base_url, "WB_BASE_URL");
		b = b ? b : url_base;
		if (!b && (rc = wb__settings_file_read(&file_url)))
			goto done;
		b = b ? b : file_url ? file_url : WB__DEFAULT_BASE_URL;
		if (!(base = strdup(b))) {
			rc = wb__error(WB_ENOMEM, "out of memory");
			goto done;
		}
		if ((rc = wb__base_url_check(base)))
			goto done;
	}
	/* the run's URL names a server: the settings file's key goes there only if it is that server's */
	if ((rc = wb__settings_key_for(base, o->api_key, &key)) || (rc = wb__http_new(&h, base, key, e, p, id)))
		goto done;
	restore_progress(o, "fetching", 0, 0);
	if ((rc = wb__http_get_raw(h, "/code", CODE_JSON_MAX, deadline, &body, &blen))) {
		if (rc == WB_ENOTFOUND)
			wb__error(rc, "run %s/%s/%s has no code capture on %s (or does not exist)", e, p, id, base);
		goto done;
	}
	if (!(code = wb__json_parse(body, blen)) || !cJSON_IsObject(code)) {
		rc = wb__error(WB_ESERVER, "the server's code capture is not a json object");
		goto done;
	}
	restore_progress(o, "fetching", fetched += blen, 0);
	if ((rc = fetch_patch(h, code, WB__PATCH_DIFF, deadline, &diff, &dlen, &rep->diff_truncated)))
		goto done;
	restore_progress(o, "fetching", fetched += dlen, 0);
	if ((rc = fetch_patch(h, code, WB__PATCH_UPSTREAM, deadline, &up, &ulen, NULL)))
		goto done;
	restore_progress(o, "fetching", fetched += ulen, 0);
	/* Each submodule's own patch (code.submodules[].patch), when it has one. */
	cJSON_ArrayForEach(sm, cJSON_GetObjectItemCaseSensitive(code, "submodules"))
	{
		const char *name = wb__json_get_str(sm, "patch");

		if (!name || !wb__name_valid(name) || strlen(name) >= sizeof subp[0].name || nsub >= WB__GIT_SUBMODULES_MAX)
			continue;
		snprintf(subp[nsub].name, sizeof subp[nsub].name, "%s", name);
		rc = fetch_patch(h, code, name, deadline, &subp[nsub].data, &subp[nsub].len, NULL);
		if (rc == WB_ENOTFOUND) {
			rc = WB_OK; /* not on the server: the restore names the submodule's changes as missing */
			continue;
		}
		nsub++;
		if (rc)
			goto done;
		restore_progress(o, "fetching", fetched += subp[nsub - 1].len, 0);
	}
	snprintf(rep->dest, sizeof rep->dest, "%s", o->dest ? o->dest : id);
	commit = wb__json_get_str(code, "commit");
	snprintf(rep->commit, sizeof rep->commit, "%s", commit ? commit : "");
	rep->omitted_count = wb__gitcap_omitted(code, rep->omitted, sizeof rep->omitted);
	in = (wb__restore_input){code, diff, dlen, up, ulen, o->repo, subp, nsub};
	patches = fetched - blen;
	restore_progress(o, "rebuilding", 0, patches);
	rc = wb__gitcap_restore(&in, rep->dest, &out);
	if (rc == WB_OK)
		restore_progress(o, "rebuilding", patches, patches);
	rep->source = out.source;
	rep->submodules = out.submodules;
	snprintf(rep->head, sizeof rep->head, "%s", out.head);
	snprintf(rep->notes, sizeof rep->notes, "%s", out.notes);
done:
	if (key) {
		memset(key, 0, strlen(key));
		free(key);
	}
	wb__http_free(h);
	cJSON_Delete(code);
	free(url_base);
	free(file_url);
	free(base);
	free(body);
	free(diff);
	free(up);
	for (size_t i = 0; i < nsub; i++)
		free(subp[i].data);
	return rc;
}
