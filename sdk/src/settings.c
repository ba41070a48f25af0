/*
 * settings.c — where each setting of a run comes from.
 *
 * Precedence, highest first: the wb_init_options field, its WB_* environment
 * variable, the settings file (base_url, api_key, and the entity of the
 * key's owner: the server writes them there on its first start, `wb login`
 * when it stores a key), the default. The environment sits above
 * the file so a job script can point one run elsewhere without touching the
 * user's file, and the options sit above both because code that passes a
 * value means it. Everything is validated here, once, so the rest of the
 * SDK can trust a wb__settings: a bad name fails wb_run_init with a message
 * naming the field instead of a 400 from the server minutes later.
 *
 * The API key is copied and handed to the transport; it never appears in a
 * message, in run.json or in the run log. A key from the settings file goes
 * only to the server it belongs to (wb__settings_key_for): every client
 * path — wb_run_init, wb_sync, artifacts, `wb restore`, the CLI's own HTTP
 * client — asks that one function, after it knows the URL it will talk to.
 */
#include "settings.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "gitcap.h"
#include "meta.h"
#include "util.h"
#include "wire_media.h"

#define SETTINGS_FILE_MAX (64u * 1024u)
#define SERVERS_MAX (SETTINGS_FILE_MAX / 8u) /* an api_key@ or entity@ line is longer than 8 bytes */

const char *wb__setting_str(const char *opt, const char *env)
{
	const char *v;

	if (opt)
		return opt;
	v = getenv(env);
	return v && v[0] ? v : NULL;
}

int wb__base_url_check(char *url)
{
	size_t len = strlen(url);

	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return wb__error(WB_EINVAL, "base_url must start with http:// or https://");
	while (len > 0 && url[len - 1] == '/')
		url[--len] = '\0';
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)url[i] <= 0x20 || url[i] == 0x7f)
			return wb__error(WB_EINVAL, "base_url contains a space or control character");
	if (strlen(url) <= 8)
		return wb__error(WB_EINVAL, "base_url has no host");
	return WB_OK;
}

/* The settings file path into *out (malloc'd), or NULL when no base
 * directory is known. WB_OK or WB_ENOMEM. */
static int settings_path(char **out)
{
	const char *d;

	*out = NULL;
	if ((d = getenv("WB_CONFIG_DIR")) && d[0])
		return wb__asprintf(out, "%s/settings", d);
	if ((d = getenv("XDG_CONFIG_HOME")) && d[0])
		return wb__asprintf(out, "%s/wb/settings", d);
	if ((d = getenv("HOME")) && d[0])
		return wb__asprintf(out, "%s/.config/wb/settings", d);
	return WB_OK;
}

static char *trim(char *s)
{
	char *end;

	while (*s && isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* The settings file, parsed in place: the last base_url, api_key and
 * entity lines, and the api_key@URL and entity@URL lines (the keys of
 * other servers, and their owners' entities). */
typedef struct settings_file {
	char *text;
	size_t len;
	const char *url, *key, *entity;
	const char *(*per)[2]; /* {URL, key} */
	size_t nper, capper;
	const char *(*pent)[2]; /* {URL, entity} */
	size_t npent, cappent;
} settings_file;

/* Append {url, v} to a list of pairs (capacity *cap). WB_OK or WB_ENOMEM. */
static int pair_add(const char *(**list)[2], size_t *n, size_t *cap, const char *url, const char *v)
{
	int rc;

	if ((rc = wb__reserve(list, cap, *n, 1, sizeof(**list), SERVERS_MAX, "servers in the settings file")))
		return rc;
	(*list)[*n][0] = url;
	(*list)[(*n)++][1] = v;
	return WB_OK;
}

static void file_free(settings_file *f)
{
	if (f->text) {
		/* The file holds API keys: do not leave them in freed memory. */
		memset(f->text, 0, f->len);
		free(f->text);
	}
	free(f->per);
	free(f->pent);
	memset(f, 0, sizeof *f);
}

/* Read and parse the settings file into f (all NULL when there is none or
 * it cannot be read: that only means "no values from it"). WB_OK or
 * WB_ENOMEM. */
static int file_load(settings_file *f)
{
	char *path = NULL, *line, *save = NULL;
	int rc;

	memset(f, 0, sizeof *f);
	rc = settings_path(&path);
	if (rc || !path)
		goto done;
	if (wb__file_read(path, SETTINGS_FILE_MAX, &f->text, &f->len) != WB_OK) {
		f->text = NULL;
		goto done;
	}
	for (line = strtok_r(f->text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq, *k, *v;

		line = trim(line);
		if (!line[0] || line[0] == '#' || !(eq = strchr(line, '=')))
			continue;
		*eq = '\0';
		k = trim(line);
		v = trim(eq + 1);
		if (strcmp(k, "base_url") == 0) {
			f->url = v[0] ? v : NULL;
		} else if (strcmp(k, "api_key") == 0) {
			f->key = v[0] ? v : NULL;
		} else if (strcmp(k, "entity") == 0) {
			f->entity = v[0] ? v : NULL;
		} else if (strncmp(k, "api_key@", 8) == 0 && v[0]) {
			if ((rc = pair_add(&f->per, &f->nper, &f->capper, k + 8, v)))
				goto done;
		} else if (strncmp(k, "entity@", 7) == 0 && v[0]) {
			if ((rc = pair_add(&f->pent, &f->npent, &f->cappent, k + 7, v)))
				goto done;
		}
	}
done:
	if (rc)
		file_free(f);
	free(path);
	return rc;
}

/* Where a key may go: a URL's scheme, host and port, normalised. */
typedef struct origin {
	int https;
	char host[256]; /* lowercase; an IPv6 literal keeps its brackets */
	unsigned port;  /* 80 or 443 when the URL names none */
} origin;

/* Parse the origin of an http(s) URL. 0, or -1 when url is not one. */
static int origin_parse(const char *url, origin *o)
{
	const char *a, *end, *at, *h, *colon = NULL;
	size_t hl;

	memset(o, 0, sizeof *o);
	if (strncasecmp(url, "http://", 7) == 0)
		a = url + 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		a = url + 8, o->https = 1;
	else
		return -1;
	end = a + strcspn(a, "/?#");
	/* credentials in the URL are not part of where it goes */
	for (at = h = a; at < end; at++)
		if (*at == '@')
			h = at + 1;
	if (*h == '[') {
		const char *rb = memchr(h, ']', (size_t)(end - h));
		if (!rb)
			return -1;
		hl = (size_t)(rb + 1 - h);
		if (rb + 1 < end) {
			if (rb[1] != ':')
				return -1;
			colon = rb + 1;
		}
	} else {
		colon = memchr(h, ':', (size_t)(end - h));
		hl = (size_t)((colon ? colon : end) - h);
	}
	if (hl == 0 || hl >= sizeof o->host)
		return -1;
	for (size_t i = 0; i < hl; i++)
		o->host[i] = (char)tolower((unsigned char)h[i]);
	o->port = o->https ? 443 : 80;
	if (colon && colon + 1 < end) {
		unsigned long p = 0;
		for (const char *c = colon + 1; c < end; c++) {
			if (!isdigit((unsigned char)*c) || (p = p * 10 + (unsigned long)(*c - '0')) > 65535)
				return -1;
		}
		if (p == 0)
			return -1;
		o->port = (unsigned)p;
	}
	return 0;
}

int wb__same_origin(const char *a, const char *b)
{
	origin x, y;

	return origin_parse(a, &x) == 0 && origin_parse(b, &y) == 0 && x.https == y.https && x.port == y.port &&
	       strcmp(x.host, y.host) == 0;
}

/* The file's key for url's origin (borrowed from f), or NULL. */
static const char *file_key_for(const settings_file *f, const char *url)
{
	const char *key = NULL;

	for (size_t i = 0; i < f->nper; i++) /* the last line of an origin wins */
		if (wb__same_origin(f->per[i][0], url))
			key = f->per[i][1];
	if (!key && f->key && wb__same_origin(f->url ? f->url : WB__DEFAULT_BASE_URL, url))
		key = f->key;
	return key;
}

/* The entity written beside the file's key for url's origin (borrowed
 * from f), when key is that very key; else NULL. A key given another way
 * (an option, WB_API_KEY) may be someone else's: the file says nothing
 * about it. */
static const char *file_entity_for(const settings_file *f, const char *url, const char *key)
{
	const char *fkey = NULL, *ent = NULL;

	for (size_t i = 0; i < f->nper; i++)
		if (wb__same_origin(f->per[i][0], url))
			fkey = f->per[i][1];
	if (fkey) {
		for (size_t i = 0; i < f->npent; i++)
			if (wb__same_origin(f->pent[i][0], url))
				ent = f->pent[i][1];
	} else if (f->key && wb__same_origin(f->url ? f->url : WB__DEFAULT_BASE_URL, url)) {
		fkey = f->key;
		ent = f->entity;
	}
	return fkey && key && strcmp(fkey, key) == 0 && ent && wb__name_valid(ent) ? ent : NULL;
}

int wb__settings_entity_for(const char *url, const char *key, char **entity)
{
	settings_file f;
	const char *e;
	int rc;

	*entity = NULL;
	if ((rc = file_load(&f)))
		return rc;
	if ((e = file_entity_for(&f, url, key)) && !(*entity = strdup(e)))
		rc = wb__error(WB_ENOMEM, "out of memory");
	file_free(&f);
	return rc;
}

int wb__settings_file_read(char **base_url)
{
	settings_file f;
	int rc;

	*base_url = NULL;
	if ((rc = file_load(&f)))
		return rc;
	if (f.url && !(*base_url = strdup(f.url)))
		rc = wb__error(WB_ENOMEM, "out of memory");
	file_free(&f);
	return rc;
}

int wb__settings_key_for(const char *url, const char *opt_key, char **key)
{
	const char *k = wb__setting_str(opt_key && opt_key[0] ? opt_key : NULL, "WB_API_KEY");
	settings_file f = {0};
	int rc = WB_OK;

	*key = NULL;
	if (!k) {
		if ((rc = file_load(&f)))
			return rc;
		k = file_key_for(&f, url);
	}
	if (k && !(*key = strdup(k)))
		rc = wb__error(WB_ENOMEM, "out of memory");
	file_free(&f);
	return rc;
}

void wb__settings_no_key_why(const char *url, char *buf, size_t cap)
{
	settings_file f;
	origin o;

	if (file_load(&f) != WB_OK || origin_parse(url, &o) != 0) {
		snprintf(buf, cap, "no api key");
	} else if (!f.key && f.nper == 0) {
		snprintf(buf, cap, "no api key: none given (--api-key, WB_API_KEY) and none in the settings file (wb login)");
	} else {
		/* name one server the file does have a key for (URLs are not secrets) */
		snprintf(buf, cap,
			 "no api key for %s://%s:%u: the settings file has keys only for other servers (such as "
			 "%.200s), and a key goes only to its own server; give --api-key or WB_API_KEY, or add an "
			 "api_key@URL line",
			 o.https ? "https" : "http", o.host, o.port,
			 f.key ? (f.url ? f.url : WB__DEFAULT_BASE_URL) : f.per[0][0]);
	}
	file_free(&f);
}

/* Copy the resolved string (opt, else env) into *out; NULL if unset. */
static int take_str(char **out, const char *opt, const char *env)
{
	const char *v = wb__setting_str(opt, env);

	*out = NULL;
	if (!v)
		return WB_OK;
	*out = strdup(v);
	return *out ? WB_OK : wb__error(WB_ENOMEM, "out of memory");
}

/* Parse an unsigned decimal with an optional K/M/G suffix (powers of 1024). */
static int parse_size(const char *text, const char *what, unsigned long long max, unsigned long long *out)
{
	unsigned long long v, mul = 1;
	char *end;

	errno = 0;
	if (!isdigit((unsigned char)text[0]))
		return wb__error(WB_EINVAL, "%s is not a number: %s", what, text);
	v = strtoull(text, &end, 10);
	if (*end == 'k' || *end == 'K')
		mul = 1024, end++;
	else if (*end == 'm' || *end == 'M')
		mul = 1024 * 1024, end++;
	else if (*end == 'g' || *end == 'G')
		mul = 1024 * 1024 * 1024, end++;
	if (errno || *end || v > max / mul)
		return wb__error(WB_EINVAL, "%s is not a number up to %llu: %s", what, max, text);
	*out = v * mul;
	return WB_OK;
}

static int check_name(const char *what, const char *v)
{
	if (v && !wb__name_valid(v))
		return wb__error(WB_EINVAL, "%s must match [A-Za-z0-9_.-]{1,64} and not start with '.': %s", what, v);
	return WB_OK;
}

static int check_text(const char *what, const char *v, size_t max)
{
	size_t len;

	if (!v)
		return WB_OK;
	len = strnlen(v, max + 1);
	if (len == 0 || len > max)
		return wb__error(WB_EINVAL, "%s must be 1 to %zu bytes", what, max);
	if (!wb__utf8_valid(v, len))
		return wb__error(WB_EINVAL, "%s is not valid utf-8", what);
	return WB_OK;
}

/* Split a comma-separated tag list into s->tags (trimmed, empty parts skipped). */
static int parse_tags(wb__settings *s, const char *text)
{
	char *copy = NULL, *part, *save = NULL;
	int rc = WB_OK;

	copy = strdup(text);
	s->tags = calloc(WB__TAGS_MAX, sizeof *s->tags);
	if (!copy || !s->tags) {
		rc = wb__error(WB_ENOMEM, "out of memory");
		goto done;
	}
	for (part = strtok_r(copy, ",", &save); part; part = strtok_r(NULL, ",", &save)) {
		part = trim(part);
		if (!part[0])
			continue;
		if (s->ntags == WB__TAGS_MAX) {
			rc = wb__error(WB_EINVAL, "tags: at most %u tags", WB__TAGS_MAX);
			goto done;
		}
		if (strlen(part) > WB__TAG_LEN_MAX) {
			rc = wb__error(WB_EINVAL, "tags: a tag is at most %u bytes: %s", WB__TAG_LEN_MAX, part);
			goto done;
		}
		if (!wb__utf8_valid(part, strlen(part))) {
			rc = wb__error(WB_EINVAL, "tags: a tag is not valid utf-8");
			goto done;
		}
		s->tags[s->ntags] = strdup(part);
		if (!s->tags[s->ntags]) {
			rc = wb__error(WB_ENOMEM, "out of memory");
			goto done;
		}
		s->ntags++;
	}
done:
	free(copy);
	return rc;
}

/* The default entity: the login user name, with characters a name may not
 * hold replaced by '-', else "user". */
static int default_entity(char **out)
{
	const char *user = wb__meta_user();
	char *e;

	e = strdup(user && user[0] ? user : "user");
	if (!e)
		return wb__error(WB_ENOMEM, "out of memory");
	if (strlen(e) > WB__NAME_MAX)
		e[WB__NAME_MAX] = '\0';
	for (char *p = e; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '.')
			*p = '-';
	if (e[0] == '.')
		e[0] = '_';
	*out = e;
	return WB_OK;
}

static int parse_mode(const wb_init_options *o, wb_mode *mode)
{
	const char *env;

	if (o && o->mode != WB_MODE_DEFAULT) {
		if (o->mode < WB_MODE_ONLINE || o->mode > WB_MODE_DISABLED)
			return wb__error(WB_EINVAL, "mode %d is not a wb_mode", (int)o->mode);
		*mode = o->mode;
		return WB_OK;
	}
	env = getenv("WB_MODE");
	if (!env || !env[0] || strcmp(env, "online") == 0)
		*mode = WB_MODE_ONLINE;
	else if (strcmp(env, "offline") == 0)
		*mode = WB_MODE_OFFLINE;
	else if (strcmp(env, "disabled") == 0)
		*mode = WB_MODE_DISABLED;
	else
		return wb__error(WB_EINVAL, "WB_MODE must be online, offline or disabled: %s", env);
	return WB_OK;
}

void wb__settings_free(wb__settings *s)
{
	if (!s)
		return;
	free(s->project);
	free(s->entity);
	free(s->name);
	free(s->group);
	free(s->job_type);
	free(s->notes);
	for (size_t i = 0; i < s->ntags; i++)
		free(s->tags[i]);
	free(s->tags);
	free(s->run_id);
	free(s->base_url);
	if (s->api_key) {
		memset(s->api_key, 0, strlen(s->api_key));
		free(s->api_key);
	}
	free(s->ca_file);
	free(s->dir);
	wb__sweep_free(&s->sweep);
	memset(s, 0, sizeof *s);
}

/* A boolean environment variable: "1", "true", "yes" or "on" (any case) is 1. */
static int env_true(const char *name)
{
	const char *v = wb__setting_str(NULL, name);

	return v && (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 ||
		     strcasecmp(v, "on") == 0);
}

/* The fields added in wb_init_options version 2; read from opts only when
 * the caller's struct has them (a version 1 struct is shorter). */
static int load_v2(wb__settings *s, const wb_init_options *o)
{
	const int v2 = o->version >= 2;
	unsigned long long n;
	const char *v;
	int rc;

	s->disable_git = (v2 && o->disable_git) || env_true("WB_DISABLE_GIT");
	s->git_patch_max = v2 ? o->git_patch_max : 0;
	if (!s->git_patch_max) {
		s->git_patch_max = WB__GIT_PATCH_MAX_DEFAULT;
		if ((v = wb__setting_str(NULL, "WB_GIT_PATCH_MAX"))) {
			/* Any size parses; one above the limit is clamped below, with a
			 * warning: a too-generous cap must not cost the run its tracking. */
			if ((rc = parse_size(v, "WB_GIT_PATCH_MAX", ULLONG_MAX, &n)))
				return rc;
			s->git_patch_max = n > WB__GIT_PATCH_MAX_LIMIT ? WB__GIT_PATCH_MAX_LIMIT + 1u : (size_t)n;
		}
	}
	if (s->git_patch_max > WB__GIT_PATCH_MAX_LIMIT) {
		wb__warn("git_patch_max (WB_GIT_PATCH_MAX) is above its maximum of %u bytes: using %u",
			 WB__GIT_PATCH_MAX_LIMIT, WB__GIT_PATCH_MAX_LIMIT);
		s->git_patch_max = WB__GIT_PATCH_MAX_LIMIT;
	}
	s->system_sample_ms = v2 ? o->system_sample_ms : 0;
	if (!s->system_sample_ms) {
		s->system_sample_ms = WB__DEFAULT_SYSTEM_SAMPLE_MS;
		if ((v = wb__setting_str(NULL, "WB_SYSTEM_SAMPLE_MS"))) {
			if (v[0] == '-' || strcasecmp(v, "off") == 0) {
				s->system_sample_ms = -1;
			} else {
				if ((rc = parse_size(v, "WB_SYSTEM_SAMPLE_MS", 24u * 3600u * 1000u, &n)))
					return rc;
				s->system_sample_ms = n ? (int)n : -1;
			}
		}
	}
	if (s->system_sample_ms > 0 && s->system_sample_ms < WB__MIN_SYSTEM_SAMPLE_MS)
		s->system_sample_ms = WB__MIN_SYSTEM_SAMPLE_MS;
	v = wb__setting_str(v2 ? o->ca_file : NULL, "WB_CA_FILE");
	if (v && *v && !(s->ca_file = wb__strdup(v)))
		return WB_ENOMEM;
	return WB_OK;
}

static const char *env_get(const char *name)
{
	return getenv(name);
}

/*
 * Find the distributed launcher (launcher.c) and apply WB_DISTRIBUTED:
 * "all" (default) tracks every rank, "rank0" only rank 0 — the other ranks
 * get a disabled run, so their wb calls cost nothing and send nothing.
 */
static int distributed(wb__settings *s)
{
	const char *v = wb__setting_str(NULL, "WB_DISTRIBUTED");

	if (v && strcmp(v, "all") != 0 && strcmp(v, "rank0") != 0)
		return wb__error(WB_EINVAL, "WB_DISTRIBUTED must be all or rank0, not '%s'", v);
	if (!wb__launcher_detect(&s->launcher, env_get))
		return WB_OK;
	if (v && strcmp(v, "rank0") == 0 && s->launcher.rank > 0)
		s->mode = WB_MODE_DISABLED;
	return WB_OK;
}

int wb__settings_load(wb__settings *s, const wb_init_options *o)
{
	static const wb_init_options none = WB_INIT_OPTIONS_INIT;
	const char *v;
	unsigned long long n;
	int rc;

	memset(s, 0, sizeof *s);
	if (!o)
		o = &none;
	if (o->version < 1 || o->version > WB_INIT_OPTIONS_VERSION)
		return wb__error(WB_EINVAL, "wb_init_options.version %u is not supported", o->version);
	if ((rc = parse_mode(o, &s->mode)) || (rc = wb__sweep_read(&s->sweep)))
		goto done;
	if (s->mode == WB_MODE_DISABLED)
		return WB_OK;
	if ((rc = distributed(s)) || s->mode == WB_MODE_DISABLED)
		goto done;

	if ((rc = take_str(&s->project, o->project, "WB_PROJECT")) ||
	    (rc = take_str(&s->entity, o->entity, "WB_ENTITY")) || (rc = take_str(&s->name, o->name, "WB_NAME")) ||
	    (rc = take_str(&s->group, o->group, "WB_RUN_GROUP")) ||
	    (rc = take_str(&s->job_type, o->job_type, "WB_JOB_TYPE")) ||
	    (rc = take_str(&s->notes, o->notes, "WB_NOTES")) ||
	    (rc = take_str(&s->run_id, o->run_id, "WB_RUN_ID")) ||
	    (rc = take_str(&s->base_url, o->base_url, "WB_BASE_URL")) ||
	    (rc = take_str(&s->api_key, o->api_key, "WB_API_KEY")) || (rc = take_str(&s->dir, o->dir, "WB_DIR")))
		goto done;
	if ((v = wb__setting_str(o->tags, "WB_TAGS")) && (rc = parse_tags(s, v)))
		goto done;

	/* A sweep trial launched as a distributed job: the trial's run id names
	 * the group and rank 0's run (the trial's metric is rank 0's), the other
	 * ranks get runs of their own beside it. */
	if (s->launcher.kind && s->sweep.params && s->run_id && s->launcher.rank >= 0) {
		if (!s->group && !(s->group = strdup(s->run_id)))
			goto nomem;
		if (s->launcher.rank > 0) {
			char *id = NULL;
			if ((rc = wb__asprintf(&id, "%s-rank%d", s->run_id, s->launcher.rank)))
				goto done;
			free(s->run_id);
			s->run_id = id;
		}
	}
	/* under a launcher: the job names the group, the rank the run, unless told otherwise */
	if (s->launcher.kind) {
		char name[32];
		if (!s->group && s->launcher.group[0] && !(s->group = strdup(s->launcher.group)))
			goto nomem;
		snprintf(name, sizeof name, "rank-%d", s->launcher.rank);
		if (!s->name && !(s->name = strdup(name)))
			goto nomem;
	}
	if (!s->project && !(s->project = strdup(WB__DEFAULT_PROJECT)))
		goto nomem;
	if (!s->dir && !(s->dir = strdup(WB__DEFAULT_DIR)))
		goto nomem;
	if (!s->base_url && (rc = wb__settings_file_read(&s->base_url)))
		goto done;
	if (!s->base_url && !(s->base_url = strdup(WB__DEFAULT_BASE_URL)))
		goto nomem;
	/* the key last: it depends on which server the run talks to */
	if (!s->api_key && (rc = wb__settings_key_for(s->base_url, NULL, &s->api_key)))
		goto done;
	/* Then the entity: with a key, its owner's (known here only when the
	 * settings file recorded it beside that key; else NULL, for the caller
	 * to ask the server); without one, the login name, as always. */
	if (!s->entity && s->api_key && (rc = wb__settings_entity_for(s->base_url, s->api_key, &s->entity)))
		goto done;
	if (!s->entity && !s->api_key && (rc = default_entity(&s->entity)))
		goto done;

	if ((rc = check_name("project", s->project)) || (rc = check_name("entity", s->entity)) ||
	    (rc = check_name("run_id", s->run_id)) || (rc = check_name("group", s->group)) ||
	    (rc = check_text("name", s->name, WB__TEXT_MAX)) ||
	    (rc = check_text("job_type", s->job_type, WB__TEXT_MAX)) ||
	    (rc = check_text("notes", s->notes, WB__NOTES_MAX)) || (rc = wb__base_url_check(s->base_url)))
		goto done;
	if (!s->dir[0]) {
		rc = wb__error(WB_EINVAL, "dir is empty");
		goto done;
	}

	s->buffer_bytes = o->buffer_bytes;
	if (!s->buffer_bytes) {
		s->buffer_bytes = WB__DEFAULT_BUFFER_BYTES;
		if ((v = wb__setting_str(NULL, "WB_BUFFER_BYTES"))) {
			if ((rc = parse_size(v, "WB_BUFFER_BYTES", WB__MAX_BUFFER_BYTES, &n)))
				goto done;
			s->buffer_bytes = (size_t)n;
		}
	}
	if (s->buffer_bytes < WB__MIN_BUFFER_BYTES)
		s->buffer_bytes = WB__MIN_BUFFER_BYTES;
	if (s->buffer_bytes > WB__MAX_BUFFER_BYTES)
		s->buffer_bytes = WB__MAX_BUFFER_BYTES;

	s->finish_timeout_ms = o->finish_timeout_ms;
	if (!s->finish_timeout_ms) {
		s->finish_timeout_ms = WB__DEFAULT_FINISH_TIMEOUT_MS;
		if ((v = wb__setting_str(NULL, "WB_FINISH_TIMEOUT_MS"))) {
			if ((rc = parse_size(v, "WB_FINISH_TIMEOUT_MS", 24u * 3600u * 1000u, &n)))
				goto done;
			s->finish_timeout_ms = (unsigned)n;
		}
	}
	s->heartbeat_ms = o->heartbeat_ms;
	if (!s->heartbeat_ms) {
		s->heartbeat_ms = WB__DEFAULT_HEARTBEAT_MS;
		if ((v = wb__setting_str(NULL, "WB_HEARTBEAT_MS"))) {
			if ((rc = parse_size(v, "WB_HEARTBEAT_MS", 24u * 3600u * 1000u, &n)))
				goto done;
			s->heartbeat_ms = (unsigned)n;
		}
	}
	if (s->heartbeat_ms < WB__MIN_HEARTBEAT_MS)
		s->heartbeat_ms = WB__MIN_HEARTBEAT_MS;
	if ((rc = load_v2(s, o)))
		goto done;
	rc = WB_OK;
	goto done;
nomem:
	rc = wb__error(WB_ENOMEM, "out of memory");
done:
	if (rc)
		wb__settings_free(s);
	return rc;
}
