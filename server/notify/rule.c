/*
 * rule.c — the rule grammar of rule.h. A hand-written tokenizer: the
 * grammar is two sentences long, and a parser generator would be the
 * largest part of the feature. Everything is checked here, before a rule
 * reaches the database, because the trigger that evaluates it trusts its
 * columns (the JSON path is built from a key that cannot hold a quote).
 */
#include "notify/rule.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

static const char *skip_blanks(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* The next blank-separated token of *p into tok (cap bytes). Length, 0 at the end, or -1 if too long. */
static int token(const char **p, char *tok, size_t cap)
{
	const char *s = skip_blanks(*p), *e = s;
	size_t n;

	while (*e && *e != ' ' && *e != '\t')
		e++;
	n = (size_t)(e - s);
	if (n >= cap)
		return -1;
	memcpy(tok, s, n);
	tok[n] = '\0';
	*p = e;
	return (int)n;
}

static int parse_number(const char *s, double *out)
{
	char *end;
	double v;

	if (!*s || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

static double unit_seconds(const char *u)
{
	if (!strcmp(u, "s") || !strcmp(u, "sec") || !strcmp(u, "secs") || !strcmp(u, "second") || !strcmp(u, "seconds"))
		return 1;
	if (!strcmp(u, "m") || !strcmp(u, "min") || !strcmp(u, "mins") || !strcmp(u, "minute") || !strcmp(u, "minutes"))
		return 60;
	if (!strcmp(u, "h") || !strcmp(u, "hour") || !strcmp(u, "hours"))
		return 3600;
	return 0;
}

static int fail(char *why, size_t whylen, const char *msg)
{
	snprintf(why, whylen, "%s", msg);
	return -1;
}

int wbs__rule_parse(const char *text, wbs__rule *out, char *why, size_t whylen)
{
	char tok[300], num[64];
	const char *p = text;
	int n;

	memset(out, 0, sizeof(*out));
	if (!text || strlen(text) > WBS__RULE_TEXT_MAX)
		return fail(why, whylen, "a rule is a string of at most 400 bytes");
	for (const char *c = text; *c; c++)
		if ((unsigned char)*c < 0x20 && *c != '\t')
			return fail(why, whylen, "a rule has no control characters");
	if (token(&p, tok, sizeof(tok)) <= 0)
		return fail(why, whylen, "a rule is \"summary KEY OP NUMBER\" or \"no step for N min\"");
	if (strcmp(tok, "summary") == 0) {
		char op[8];
		out->kind = WBS__RULE_SUMMARY;
		n = token(&p, out->key, sizeof(out->key));
		if (n <= 0 || !wb__key_valid(out->key, (size_t)n) || strchr(out->key, '"') || strchr(out->key, '\\'))
			return fail(why, whylen, "summary rule: the key must be a metric key without quotes or backslashes");
		if (token(&p, op, sizeof(op)) <= 0 ||
		    (strcmp(op, ">") && strcmp(op, ">=") && strcmp(op, "<") && strcmp(op, "<=") && strcmp(op, "==") &&
		     strcmp(op, "!=")))
			return fail(why, whylen, "summary rule: the operator is one of > >= < <= == !=");
		memcpy(out->op, op, strlen(op) + 1); /* at most 2 bytes: checked above */
		if (token(&p, num, sizeof(num)) <= 0 || parse_number(num, &out->threshold))
			return fail(why, whylen, "summary rule: the threshold must be a finite number");
		if (*skip_blanks(p))
			return fail(why, whylen, "summary rule: unexpected text after the threshold");
		snprintf(out->path, sizeof(out->path), "$.\"%s\"", out->key);
		snprintf(out->text, sizeof(out->text), "summary %s %s %.17g", out->key, out->op, out->threshold);
		return 0;
	}
	if (strcmp(tok, "no") == 0) {
		char unit[64] = "";
		char *u;
		double v, mult;
		if (token(&p, tok, sizeof(tok)) <= 0 || strcmp(tok, "step") ||
		    token(&p, tok, sizeof(tok)) <= 0 || strcmp(tok, "for"))
			return fail(why, whylen, "stall rule: \"no step for N UNIT\"");
		if (token(&p, num, sizeof(num)) <= 0)
			return fail(why, whylen, "stall rule: a duration is missing");
		/* "15min": the unit may be glued to the number. */
		u = num;
		while (*u && (isdigit((unsigned char)*u) || *u == '.'))
			u++;
		if (*u) {
			snprintf(unit, sizeof(unit), "%s", u);
			*u = '\0';
		} else if (token(&p, unit, sizeof(unit)) <= 0) {
			return fail(why, whylen, "stall rule: the unit is s, min or h");
		}
		if (parse_number(num, &v) || !(v > 0))
			return fail(why, whylen, "stall rule: the duration must be a positive number");
		if (!(mult = unit_seconds(unit)))
			return fail(why, whylen, "stall rule: the unit is s, min or h");
		if (*skip_blanks(p))
			return fail(why, whylen, "stall rule: unexpected text after the unit");
		out->kind = WBS__RULE_STALL;
		out->seconds = v * mult;
		if (out->seconds > WBS__RULE_STALL_MAX)
			return fail(why, whylen, "stall rule: at most 30 days");
		snprintf(out->text, sizeof(out->text), "no step for %g %s", v,
			 mult == 1 ? "s" : mult == 60 ? "min" : "h");
		return 0;
	}
	return fail(why, whylen, "a rule starts with \"summary\" or \"no step for\"");
}
