/*
 * jsoncheck.c — one pass over raw JSON text for what cJSON would silently
 * change (see jsoncheck.h). Part of the codec the SDK and the server share:
 * the server runs it on every network JSON text, the SDK on JSON text a
 * trainer hands it, so that it never writes a record the server refuses.
 *
 * Why the raw text and not the tree cJSON builds: the tree has already lost
 * what matters. "a\u0000b" is "a" in it, and nothing says it was cut; two
 * equal keys are two siblings, but two keys that differed only after a
 * \u0000 look equal too. So the walk is over the text, with cJSON's own
 * grammar (but whitespace is JSON's four bytes, where cJSON skips any up to
 * 0x20), a number is the run of
 * "0123456789+-.eE" that cJSON hands to strtod), and keeps only a stack of
 * the open containers: the member key (a pointer into the text) or array
 * index at each level, enough to name the path of a refused field when, and
 * only when, one is found.
 *
 * Duplicate keys: every key is hashed (FNV-1a over its decoded UTF-8, so
 * "a" and "\u0061" are equal, then mixed) and pushed on a stack of the keys
 * of the open objects; an object's keys are the top of that stack, and are
 * popped when it closes, so memory follows the widest open objects, not the
 * document. A new key is compared with the hashes of its object's keys one
 * by one up to 16 of them, through a hash index of the object past that
 * (built then, freed when it closes); equal hashes are compared by decoding
 * both keys. The stacks live on the C stack up to 64 entries and grow on
 * the heap past that.
 *
 * Numbers: a literal without an exponent is under 10^63 (cJSON reads at most
 * 63 bytes of one), and one whose integer digits plus exponent are at most
 * 308 is under 10^308; only the rest goes through strtod, the way cJSON
 * reads it, to see whether it becomes ±inf.
 */
#include "jsoncheck.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire_media.h"

#define DEPTH_MAX 1000 /* cJSON's CJSON_NESTING_LIMIT: it refuses deeper text */
#define NUM_MAX 63     /* cJSON parses at most this many bytes of a number */
#define INLINE_LEVELS 64
#define INLINE_KEYS 64
#define LINEAR_MAX 16 /* keys of one object compared one by one; an index past that */

typedef struct {
	uint64_t h;      /* mixed hash of the decoded key */
	const char *key; /* text after the key's opening quote */
} kent;

typedef struct {
	const char *key; /* the current member's key (text after its quote); NULL in arrays */
	size_t index;    /* the current element of an array */
	int obj;         /* an object (else an array) */
	size_t kbase;    /* its keys are ks[kbase..nks) */
	uint32_t *idx;   /* hash index of those keys (ks position + 1; 0 empty), or NULL */
	size_t idx_cap;  /* a power of two, at most half full */
} level;

typedef struct {
	const char *p, *start, *end;
	level *lv;
	size_t nlv, cap_lv;
	kent *ks;
	size_t nks, cap_ks;
	level inline_lv[INLINE_LEVELS];
	kent inline_ks[INLINE_KEYS];
} ctx;

/* What is wrong with a string (0: nothing). */
enum { S_OK, S_NUL, S_UTF8, S_SURROGATE, S_SYNTAX };

static const char *const string_why[] = {"", "holds a NUL character (\\u0000)", "is not valid utf-8",
					  "holds an unpaired utf-16 surrogate escape"};

static int hex4(const char *p, const char *end, uint32_t *out)
{
	uint32_t v = 0;

	if (end - p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		char ch = p[i];
		v <<= 4;
		if (ch >= '0' && ch <= '9')
			v |= (uint32_t)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			v |= (uint32_t)(ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'F')
			v |= (uint32_t)(ch - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

/*
 * The escape at *pp (just after its backslash): its code point in *cp, *pp
 * moved past it. A \uD800-\uDBFF escape takes the \uDC00-\uDFFF one after it.
 * Returns a S_* code.
 */
static int escape(const char **pp, const char *end, uint32_t *cp)
{
	const char *p = *pp;
	uint32_t lo;

	if (p >= end)
		return S_SYNTAX;
	switch (*p) {
	case '"': *cp = '"'; break;
	case '\\': *cp = '\\'; break;
	case '/': *cp = '/'; break;
	case 'b': *cp = '\b'; break;
	case 'f': *cp = '\f'; break;
	case 'n': *cp = '\n'; break;
	case 'r': *cp = '\r'; break;
	case 't': *cp = '\t'; break;
	case 'u':
		if (hex4(p + 1, end, cp))
			return S_SYNTAX;
		p += 4;
		if (*cp >= 0xdc00 && *cp <= 0xdfff)
			return S_SURROGATE;
		if (*cp >= 0xd800 && *cp <= 0xdbff) {
			if (end - p < 7 || p[1] != '\\' || p[2] != 'u' || hex4(p + 3, end, &lo) || lo < 0xdc00 ||
			    lo > 0xdfff)
				return S_SURROGATE;
			*cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
			p += 6;
		}
		if (*cp == 0)
			return S_NUL;
		break;
	default: return S_SYNTAX;
	}
	*pp = p + 1;
	return S_OK;
}

static uint64_t fnv_byte(uint64_t h, unsigned char b) { return (h ^ b) * 1099511628211ull; }

/* Hash the UTF-8 encoding of cp, so an escaped and a raw character hash alike. */
static uint64_t fnv_cp(uint64_t h, uint32_t cp)
{
	if (cp < 0x80)
		return fnv_byte(h, (unsigned char)cp);
	if (cp < 0x800)
		return fnv_byte(fnv_byte(h, (unsigned char)(0xc0 | (cp >> 6))), (unsigned char)(0x80 | (cp & 0x3f)));
	if (cp < 0x10000)
		return fnv_byte(fnv_byte(fnv_byte(h, (unsigned char)(0xe0 | (cp >> 12))),
					 (unsigned char)(0x80 | ((cp >> 6) & 0x3f))),
				(unsigned char)(0x80 | (cp & 0x3f)));
	return fnv_byte(fnv_byte(fnv_byte(fnv_byte(h, (unsigned char)(0xf0 | (cp >> 18))),
					  (unsigned char)(0x80 | ((cp >> 12) & 0x3f))),
				 (unsigned char)(0x80 | ((cp >> 6) & 0x3f))),
			(unsigned char)(0x80 | (cp & 0x3f)));
}

/*
 * Scan the string whose opening quote is at c->p and move c->p past its
 * closing quote. hash (keys only): FNV-1a of its decoded UTF-8. On an error
 * c->p is left where it was found. Returns a S_* code.
 */
static int scan_string(ctx *c, uint64_t *hash)
{
	const char *p = c->p + 1, *end = c->end;
	uint64_t h = 1469598103934665603ull;

	for (;;) {
		unsigned char ch;
		/* The common case, unrolled from the rest: plain ASCII of a value. */
		if (!hash)
			while (p < end && (unsigned char)*p < 0x80 && *p != '"' && *p != '\\' && *p != 0)
				p++;
		if (p >= end) {
			c->p = p;
			return S_SYNTAX;
		}
		ch = (unsigned char)*p;
		if (ch == '"')
			break;
		if (ch == 0) {
			c->p = p;
			return S_NUL;
		}
		if (ch == '\\') {
			uint32_t cp;
			const char *at = p;
			int rc;
			p++;
			if ((rc = escape(&p, end, &cp))) {
				c->p = at;
				return rc;
			}
			h = fnv_cp(h, cp);
		} else if (ch < 0x80) {
			h = fnv_byte(h, ch);
			p++;
		} else {
			size_t k = wb__utf8_seq(p, (size_t)(end - p));
			if (!k) {
				c->p = p;
				return S_UTF8;
			}
			for (size_t i = 0; i < k; i++)
				h = fnv_byte(h, (unsigned char)p[i]);
			p += k;
		}
	}
	c->p = p + 1;
	if (hash)
		*hash = h;
	return S_OK;
}

/* The next code point of a key already scanned (text after its opening quote), or UINT32_MAX at its end. */
static uint32_t key_next(const char **pp)
{
	const unsigned char *p = (const unsigned char *)*pp;
	uint32_t cp;
	size_t k;

	if (*p == '"')
		return UINT32_MAX;
	if (*p == '\\') {
		const char *q = (const char *)p + 1;
		escape(&q, q + 12, &cp); /* valid: the key was scanned; a pair takes at most 11 bytes */
		*pp = q;
		return cp;
	}
	if (*p < 0x80)
		k = 1, cp = *p;
	else if (*p < 0xe0)
		k = 2, cp = *p & 0x1fu;
	else if (*p < 0xf0)
		k = 3, cp = *p & 0x0fu;
	else
		k = 4, cp = *p & 0x07u;
	for (size_t i = 1; i < k; i++)
		cp = (cp << 6) | (p[i] & 0x3fu);
	*pp = (const char *)p + k;
	return cp;
}

static int keys_equal(const char *a, const char *b)
{
	for (;;) {
		uint32_t x = key_next(&a), y = key_next(&b);
		if (x != y)
			return 0;
		if (x == UINT32_MAX)
			return 1;
	}
}

static uint64_t mix(uint64_t h)
{
	/* FNV-1a's low bits barely differ between short keys that differ at the
	 * end ("layer_1", "layer_2"): murmur3's finaliser before masking. */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

/* (Re)build lv's index with cap slots over its keys. 0 or -1. */
static int index_build(const ctx *c, level *lv, size_t cap)
{
	uint32_t *idx;

	if (cap > SIZE_MAX / sizeof(*idx) || !(idx = calloc(cap, sizeof(*idx))))
		return -1;
	for (size_t k = lv->kbase; k < c->nks; k++) {
		size_t i;
		for (i = (size_t)c->ks[k].h & (cap - 1); idx[i]; i = (i + 1) & (cap - 1))
			;
		idx[i] = (uint32_t)(k + 1);
	}
	free(lv->idx);
	lv->idx = idx;
	lv->idx_cap = cap;
	return 0;
}

/* Add key (FNV-1a hash h) to the innermost object. 0, 1 if it has it already, -1 out of memory. */
static int key_add(ctx *c, uint64_t h, const char *key)
{
	level *lv = &c->lv[c->nlv - 1];
	size_t n = c->nks - lv->kbase;

	h = mix(h);
	if (!lv->idx && n < LINEAR_MAX) {
		for (size_t k = lv->kbase; k < c->nks; k++)
			if (c->ks[k].h == h && keys_equal(c->ks[k].key, key))
				return 1;
	} else {
		size_t i;
		if ((!lv->idx || (n + 1) * 2 > lv->idx_cap) && index_build(c, lv, lv->idx ? lv->idx_cap * 2 : 64))
			return -1;
		for (i = (size_t)h & (lv->idx_cap - 1); lv->idx[i]; i = (i + 1) & (lv->idx_cap - 1)) {
			const kent *e = &c->ks[lv->idx[i] - 1];
			if (e->h == h && keys_equal(e->key, key))
				return 1;
		}
		if (c->nks >= UINT32_MAX)
			return -1;
		lv->idx[i] = (uint32_t)(c->nks + 1);
	}
	if (c->nks == c->cap_ks) {
		size_t cap = c->cap_ks * 2;
		kent *ks;
		if (cap > SIZE_MAX / sizeof(*ks) || !(ks = malloc(cap * sizeof(*ks))))
			return -1;
		memcpy(ks, c->ks, c->nks * sizeof(*ks));
		if (c->ks != c->inline_ks)
			free(c->ks);
		c->ks = ks;
		c->cap_ks = cap;
	}
	c->ks[c->nks++] = (kent){h, key};
	return 0;
}

/* Close the innermost container: drop its keys and index. */
static void pop(ctx *c)
{
	level *lv = &c->lv[--c->nlv];

	if (lv->obj)
		c->nks = lv->kbase;
	free(lv->idx);
}

/* Open a container (obj: an object, else an array). 0, 1 past DEPTH_MAX, -1 out of memory. */
static int push(ctx *c, int obj)
{
	if (c->nlv >= DEPTH_MAX)
		return 1;
	if (c->nlv == c->cap_lv) {
		size_t cap = c->cap_lv * 2;
		level *lv;
		if (!(lv = malloc(cap * sizeof(*lv))))
			return -1;
		memcpy(lv, c->lv, c->nlv * sizeof(*lv));
		if (c->lv != c->inline_lv)
			free(c->lv);
		c->lv = lv;
		c->cap_lv = cap;
	}
	c->lv[c->nlv++] = (level){NULL, 0, obj, c->nks, NULL, 0};
	return 0;
}

/* Number at c->p (a '-' or a digit): 0, or 1 if cJSON would read it as ±inf. Moves c->p past it. */
static int scan_number(ctx *c)
{
	const char *s = c->p, *p = s, *e = NULL;
	size_t n, idigits = 0;
	long exp = 0;
	int eneg = 0;
	char buf[NUM_MAX + 1];

	while (p < c->end && ((*p >= '0' && *p <= '9') || *p == '+' || *p == '-' || *p == '.' || *p == 'e' ||
			      *p == 'E')) {
		if ((*p == 'e' || *p == 'E') && !e)
			e = p;
		p++;
	}
	c->p = p;
	n = (size_t)(p - s);
	if (!e || n > NUM_MAX) /* under 10^63; or longer than cJSON reads, which it then refuses */
		return 0;
	for (const char *q = s + (*s == '-'); q < e && *q >= '0' && *q <= '9'; q++)
		idigits++;
	for (const char *q = e + 1; q < p; q++) {
		if (*q == '-' && q == e + 1)
			eneg = 1;
		else if (*q >= '0' && *q <= '9' && exp < 100000)
			exp = exp * 10 + (*q - '0');
	}
	if (eneg || (long)idigits + exp <= 308) /* below 10^308: finite */
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return isinf(strtod(buf, NULL)) ? 1 : 0;
}

/* A bounded string builder for the path. */
typedef struct {
	char *b;
	size_t cap, n;
} out;

static void out_put(out *o, const char *s, size_t n)
{
	if (o->cap == 0)
		return;
	for (size_t i = 0; i < n && o->n + 1 < o->cap; i++)
		o->b[o->n++] = s[i];
	o->b[o->n] = '\0';
}

static void out_cp(out *o, uint32_t cp)
{
	char u[8];
	size_t k;

	if (cp < 0x20 || cp == 0x7f || cp == '"' || cp == '\\') {
		k = (size_t)snprintf(u, sizeof(u), cp == '"' || cp == '\\' ? "\\%c" : "\\u%04x", (int)cp);
	} else if (cp < 0x80) {
		u[0] = (char)cp, k = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6)), u[1] = (char)(0x80 | (cp & 0x3f)), k = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12)), u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f)), k = 3;
	} else {
		u[0] = (char)(0xf0 | (cp >> 18)), u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), u[3] = (char)(0x80 | (cp & 0x3f)), k = 4;
	}
	out_put(o, u, k);
}

/* A key as .name when it is an identifier, else as ["..."]. */
static void out_key(out *o, const char *key)
{
	const char *p = key;
	uint32_t cp;
	int ident = 1, first = 1;

	while ((cp = key_next(&p)) != UINT32_MAX) {
		if (!((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || cp == '_' ||
		      (!first && cp >= '0' && cp <= '9')))
			ident = 0;
		first = 0;
	}
	ident = ident && !first;
	out_put(o, ident ? "." : "[\"", ident ? 1 : 2);
	for (p = key; (cp = key_next(&p)) != UINT32_MAX;)
		out_cp(o, cp);
	if (!ident)
		out_put(o, "\"]", 2);
}

/* "$.path: reason"; member: the path includes the innermost level's current member or element. */
static void refuse(const ctx *c, int member, const char *reason, char *why, size_t whylen)
{
	char path[192];
	out o = {path, sizeof(path), 0};
	size_t n = member ? c->nlv : c->nlv - 1;

	out_put(&o, "$", 1);
	for (size_t i = 0; i < n; i++) {
		if (c->lv[i].obj) {
			out_key(&o, c->lv[i].key);
		} else {
			char ix[24];
			out_put(&o, ix, (size_t)snprintf(ix, sizeof(ix), "[%zu]", c->lv[i].index));
		}
	}
	if (o.n + 1 == o.cap)
		memcpy(path + o.n - 3, "...", 3);
	if (whylen)
		snprintf(why, whylen, "%s: %s", path, reason);
}

/* JSON's whitespace only (RFC 8259: space, tab, LF, CR). cJSON skips every
 * byte up to 0x20; a text with, say, 0x06 between two tokens is not JSON
 * and is refused here as a syntax error at that byte. */
static void skip_ws(ctx *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

int wb__json_check(const char *text, size_t len, char *why, size_t whylen)
{
	ctx c;
	level *top;
	uint64_t h;
	const char *key;
	char reason[80];
	int rc = WB__JSON_OK, s;

	if (whylen)
		why[0] = '\0';
	c.p = c.start = text;
	c.end = text + len;
	c.lv = c.inline_lv;
	c.nlv = 0;
	c.cap_lv = INLINE_LEVELS;
	c.ks = c.inline_ks;
	c.nks = 0;
	c.cap_ks = INLINE_KEYS;

	skip_ws(&c);
value:
	if (c.p >= c.end)
		goto syntax;
	switch (*c.p) {
	case '{':
	case '[':
		if ((s = push(&c, *c.p == '{'))) {
			if (s < 0)
				goto nomem;
			goto syntax; /* deeper than cJSON goes: it refuses the text too */
		}
		c.p++;
		skip_ws(&c);
		if (c.p < c.end && *c.p == (c.lv[c.nlv - 1].obj ? '}' : ']')) {
			c.p++;
			pop(&c);
			goto after;
		}
		if (c.lv[c.nlv - 1].obj)
			goto key;
		goto value;
	case '"':
		if ((s = scan_string(&c, NULL))) {
			if (s == S_SYNTAX)
				goto syntax;
			snprintf(reason, sizeof(reason), "the string %s", string_why[s]);
			refuse(&c, 1, reason, why, whylen);
			rc = WB__JSON_REFUSED;
			goto done;
		}
		goto after;
	case 't':
	case 'f':
	case 'n': {
		const char *lit = *c.p == 't' ? "true" : *c.p == 'f' ? "false" : "null";
		size_t n = strlen(lit);
		if ((size_t)(c.end - c.p) < n || memcmp(c.p, lit, n) != 0)
			goto syntax;
		c.p += n;
		goto after;
	}
	default:
		if (*c.p != '-' && !(*c.p >= '0' && *c.p <= '9'))
			goto syntax;
		if (scan_number(&c)) {
			refuse(&c, 1, "the number is out of the range of a double", why, whylen);
			rc = WB__JSON_REFUSED;
			goto done;
		}
		goto after;
	}
key:
	if (c.p >= c.end || *c.p != '"')
		goto syntax;
	key = c.p + 1;
	if ((s = scan_string(&c, &h))) {
		if (s == S_SYNTAX)
			goto syntax;
		snprintf(reason, sizeof(reason), "a key %s", string_why[s]);
		refuse(&c, 0, reason, why, whylen);
		rc = WB__JSON_REFUSED;
		goto done;
	}
	top = &c.lv[c.nlv - 1];
	top->key = key;
	switch (key_add(&c, h, key)) {
	case 0: break;
	case 1:
		refuse(&c, 1, "the key is given twice in one object", why, whylen);
		rc = WB__JSON_REFUSED;
		goto done;
	default: goto nomem;
	}
	skip_ws(&c);
	if (c.p >= c.end || *c.p != ':')
		goto syntax;
	c.p++;
	skip_ws(&c);
	goto value;
after:
	if (c.nlv == 0)
		goto done;
	skip_ws(&c);
	if (c.p >= c.end)
		goto syntax;
	top = &c.lv[c.nlv - 1];
	if (*c.p == ',') {
		c.p++;
		skip_ws(&c);
		if (top->obj)
			goto key;
		top->index++;
		goto value;
	}
	if (*c.p == (top->obj ? '}' : ']')) {
		c.p++;
		pop(&c);
		goto after;
	}
syntax:
	if (whylen)
		snprintf(why, whylen, "not valid json at byte %zu", (size_t)(c.p - c.start));
	rc = WB__JSON_SYNTAX;
	goto done;
nomem:
	if (whylen)
		snprintf(why, whylen, "out of memory");
	rc = WB__JSON_NOMEM;
done:
	while (c.nlv) /* the indexes of the objects still open (a refusal inside them) */
		pop(&c);
	if (c.lv != c.inline_lv)
		free(c.lv);
	if (c.ks != c.inline_ks)
		free(c.ks);
	return rc;
}
