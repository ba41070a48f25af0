/*
 * yaml.c — a YAML sweep spec into the cJSON tree the JSON reader gives,
 * through libyaml's event stream (the only file that includes yaml.h).
 *
 * Sweep files are small hand-written configuration, so only the part of
 * YAML that maps onto JSON is taken: mappings with scalar keys, sequences,
 * scalars. Plain scalars are typed by YAML 1.2's core schema (null, true/
 * false, integers, reals including 1e-4, which YAML 1.1 and PyYAML leave a
 * string); quoted scalars are always strings. Anchors, aliases and tags
 * are refused rather than half-supported (an alias is also how a small
 * document expands into a huge one), as are several documents, duplicate
 * keys, NUL in a string, and documents past the depth and event caps.
 * Messages name the place by its JSON path, or by line and column for
 * syntax errors.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "sweep/sweep_int.h"

#define PATH_MAX_LEN 512

typedef struct frame {
	cJSON *node;   /* an object or an array */
	char *key;     /* object: the key read, awaiting its value; NULL: next scalar is a key */
	size_t plen;   /* length of path up to this container */
	size_t index;  /* array: items so far */
} frame;

typedef struct yctx {
	frame st[WBS__SWEEP_DEPTH_MAX + 1];
	int depth; /* frames in use */
	char path[PATH_MAX_LEN];
	cJSON *root;
	char *err;
	size_t errlen;
} yctx;

static int yfail(yctx *c, const char *reason, const char *arg)
{
	char r[256];

	snprintf(r, sizeof(r), reason, arg ? arg : "");
	snprintf(c->err, c->errlen, "%s: %s", c->path[0] ? c->path : "$", r);
	for (char *q = c->err; *q; q++) /* keys and values are echoed: one printable line */
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			*q = '?';
	return -1;
}

/* Set c->path to the path of the value about to be added to the top frame. */
static void value_path(yctx *c)
{
	frame *f;

	if (c->depth == 0) {
		snprintf(c->path, sizeof(c->path), "$");
		return;
	}
	f = &c->st[c->depth - 1];
	c->path[f->plen] = '\0';
	if (cJSON_IsArray(f->node))
		snprintf(c->path + f->plen, sizeof(c->path) - f->plen, "[%zu]", f->index);
	else
		snprintf(c->path + f->plen, sizeof(c->path) - f->plen, ".%.100s", f->key ? f->key : "");
}

static int all_in(const char *s, size_t n, const char *set)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!strchr(set, s[i]) || !s[i])
			return 0;
	return 1;
}

/* A plain scalar typed by YAML 1.2's core schema; NULL with err set. */
static cJSON *plain_scalar(yctx *c, const char *s, size_t n)
{
	const char *d = s;
	size_t dn = n;
	char *end;
	double v;
	cJSON *j;

	if (n == 0 || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL"))
		return cJSON_CreateNull();
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
		return cJSON_CreateTrue();
	if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
		return cJSON_CreateFalse();
	if (*d == '-' || *d == '+') {
		d++;
		dn--;
	}
	if (!strcmp(d, ".inf") || !strcmp(d, ".Inf") || !strcmp(d, ".INF") || !strcmp(s, ".nan") ||
	    !strcmp(s, ".NaN") || !strcmp(s, ".NAN")) {
		yfail(c, "not a finite number (JSON has no %s)", s);
		return NULL;
	}
	if (all_in(d, dn, "0123456789")) { /* integer */
		errno = 0;
		v = strtod(s, &end);
		return cJSON_CreateNumber(v);
	}
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'o') && n > 2 &&
	    all_in(s + 2, n - 2, s[1] == 'x' ? "0123456789abcdefABCDEF" : "01234567")) {
		unsigned long long u;
		errno = 0;
		u = strtoull(s + 2, &end, s[1] == 'x' ? 16 : 8);
		if (errno || u > (1ull << 53)) {
			yfail(c, "integer %s is too large", s);
			return NULL;
		}
		return cJSON_CreateNumber((double)u);
	}
	/* real: [-+]? ( \.[0-9]+ | [0-9]+ ( \.[0-9]* )? ) ( [eE] [-+]? [0-9]+ )? */
	{
		size_t i = 0, digits = 0;
		while (i < dn && d[i] >= '0' && d[i] <= '9')
			i++, digits++;
		if (i < dn && d[i] == '.') {
			i++;
			while (i < dn && d[i] >= '0' && d[i] <= '9')
				i++, digits++;
		}
		if (digits && i < dn && (d[i] == 'e' || d[i] == 'E')) {
			size_t e0;
			i++;
			if (i < dn && (d[i] == '-' || d[i] == '+'))
				i++;
			e0 = i;
			while (i < dn && d[i] >= '0' && d[i] <= '9')
				i++;
			if (i == e0)
				digits = 0;
		}
		if (digits && i == dn) {
			v = strtod(s, &end);
			if (!isfinite(v)) {
				yfail(c, "number %s is out of range", s);
				return NULL;
			}
			j = cJSON_CreateNumber(v);
			if (j)
				j->type |= WBS__JSON_REAL;
			return j;
		}
	}
	return cJSON_CreateString(s);
}

/* Add node (a finished scalar or a new container) where the top frame wants it. */
static int place(yctx *c, cJSON *node)
{
	frame *f;

	if (c->depth == 0) {
		c->root = node;
		return 0;
	}
	f = &c->st[c->depth - 1];
	if (cJSON_IsArray(f->node)) {
		cJSON_AddItemToArray(f->node, node);
		f->index++;
	} else {
		cJSON_AddItemToObject(f->node, f->key, node);
		free(f->key);
		f->key = NULL;
	}
	return 0;
}

static int on_scalar(yctx *c, const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;
	frame *f = c->depth ? &c->st[c->depth - 1] : NULL;
	cJSON *node;

	if (memchr(s, '\0', n)) {
		value_path(c);
		return yfail(c, "NUL in a string", NULL);
	}
	if (f && cJSON_IsObject(f->node) && !f->key) { /* a key */
		value_path(c);
		if (cJSON_GetObjectItemCaseSensitive(f->node, s)) {
			c->path[f->plen] = '\0';
			snprintf(c->path + f->plen, sizeof(c->path) - f->plen, ".%.100s", s);
			return yfail(c, "duplicate key", NULL);
		}
		f->key = strdup(s);
		return f->key ? 0 : yfail(c, "out of memory", NULL);
	}
	value_path(c);
	node = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? plain_scalar(c, s, n) : cJSON_CreateString(s);
	if (!node)
		return c->err[0] ? -1 : yfail(c, "out of memory", NULL);
	return place(c, node);
}

static int on_start(yctx *c, int object)
{
	frame *f = c->depth ? &c->st[c->depth - 1] : NULL;
	cJSON *node;

	value_path(c);
	if (f && cJSON_IsObject(f->node) && !f->key)
		return yfail(c, "a key must be a scalar", NULL);
	if (c->depth == WBS__SWEEP_DEPTH_MAX)
		return yfail(c, "nested deeper than %s", "32");
	node = object ? cJSON_CreateObject() : cJSON_CreateArray();
	if (!node)
		return yfail(c, "out of memory", NULL);
	place(c, node);
	f = &c->st[c->depth++];
	f->node = node;
	f->key = NULL;
	f->index = 0;
	f->plen = strlen(c->path);
	return 0;
}

cJSON *wbs__sweep_yaml_tree(const char *text, size_t len, char *err, size_t errlen)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	yctx *c = calloc(1, sizeof(*c));
	cJSON *out = NULL;
	size_t events = 0;
	int docs = 0, end = 0;

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	err[0] = '\0';
	c->err = err;
	c->errlen = errlen;
	if (!yaml_parser_initialize(&parser)) {
		snprintf(err, errlen, "out of memory");
		free(c);
		return NULL;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (!end) {
		int bad = 0;
		if (!yaml_parser_parse(&parser, &ev)) {
			snprintf(err, errlen, "$: not valid yaml: %s at line %zu column %zu",
				 parser.problem ? parser.problem : "syntax error", parser.problem_mark.line + 1,
				 parser.problem_mark.column + 1);
			goto done;
		}
		if (++events > WBS__SWEEP_YAML_EVENTS) {
			snprintf(err, errlen, "$: yaml document of more than %d events", WBS__SWEEP_YAML_EVENTS);
			bad = 1;
		}
		switch (bad ? YAML_NO_EVENT : ev.type) {
		case YAML_STREAM_END_EVENT:
			end = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1) {
				snprintf(err, errlen, "$: a spec is one yaml document (found a second at line %zu)",
					 ev.start_mark.line + 1);
				bad = 1;
			}
			break;
		case YAML_ALIAS_EVENT:
			value_path(c);
			bad = yfail(c, "yaml aliases are not supported", NULL);
			break;
		case YAML_SCALAR_EVENT:
			if (ev.data.scalar.anchor || (ev.data.scalar.tag && !ev.data.scalar.plain_implicit &&
						      !ev.data.scalar.quoted_implicit)) {
				value_path(c);
				bad = yfail(c, ev.data.scalar.anchor ? "yaml anchors are not supported"
								     : "yaml tags are not supported",
					    NULL);
			} else {
				bad = on_scalar(c, &ev);
			}
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT: {
			const yaml_char_t *anchor = ev.type == YAML_MAPPING_START_EVENT ? ev.data.mapping_start.anchor
											: ev.data.sequence_start.anchor;
			const yaml_char_t *tag = ev.type == YAML_MAPPING_START_EVENT ? ev.data.mapping_start.tag
										     : ev.data.sequence_start.tag;
			if (anchor || tag) {
				value_path(c);
				bad = yfail(c, anchor ? "yaml anchors are not supported" : "yaml tags are not supported",
					    NULL);
			} else {
				bad = on_start(c, ev.type == YAML_MAPPING_START_EVENT);
			}
			break;
		}
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			c->depth--;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
		if (bad)
			goto done;
	}
	if (!c->root) {
		snprintf(err, errlen, "$: a sweep spec must be an object (the yaml document is empty)");
		goto done;
	}
	out = c->root;
	c->root = NULL;
done:
	for (int i = 0; i < c->depth; i++)
		free(c->st[i].key);
	cJSON_Delete(c->root);
	yaml_parser_delete(&parser);
	free(c);
	return out;
}
