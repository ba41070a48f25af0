/*
 * cmd_sweep.c — `wb sweep create|show|pause|resume|stop|cancel`: drive a
 * sweep through the API (docs/sweeps.md). The search itself runs in the
 * server; `wb agent` (cmd_agent.c) runs the trials.
 *
 * create sends the spec file as it is, JSON or YAML, with its content type
 * (the server parses and normalises it, and answers a bad field with its
 * JSON path, which is printed as the server wrote it). The server and key
 * come from api.c's rule (--base-url / WB_BASE_URL / settings file, and the
 * key for that server only).
 */
#include "cmd.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

#define SPEC_MAX (1u << 20) /* a sweep spec is a page of text */

static const char sweep_usage[] =
	"usage: wb sweep create SPEC --project ENTITY/PROJECT   (SPEC: a .json or .yaml file)\n"
	"       wb sweep show|pause|resume|stop|cancel ENTITY/PROJECT/SWEEP\n"
	"       options: [--base-url URL] [--api-key KEY]\n"
	"  stop: no new trials, running ones go on; cancel: running ones are stopped too.\n";

/* Read path (at most SPEC_MAX bytes) into a malloc'd buffer. 0 or -1 with err. */
static int read_spec(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	size_t n;
	int rc = -1;

	*out = NULL;
	if (!f) {
		snprintf(err, errlen, "cannot open %s", path);
		return -1;
	}
	if (!(p = malloc(SPEC_MAX + 1))) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	n = fread(p, 1, SPEC_MAX + 1, f);
	if (ferror(f) || n > SPEC_MAX) {
		snprintf(err, errlen, ferror(f) ? "cannot read %s" : "%s is larger than 1 MiB", path);
		goto done;
	}
	p[n] = '\0';
	*out = p;
	*len = n;
	p = NULL;
	rc = 0;
done:
	free(p);
	fclose(f);
	return rc;
}

/* The content type of a spec: by its name, else JSON when it starts with '{' (as the server decides). */
static const char *spec_type(const char *path, const char *text)
{
	const char *dot = strrchr(path, '.');

	if (dot && (!strcmp(dot, ".yaml") || !strcmp(dot, ".yml")))
		return "application/yaml";
	if (dot && !strcmp(dot, ".json"))
		return "application/json";
	text += strspn(text, " \t\r\n");
	return *text == '{' ? "application/json" : "application/yaml";
}

/* The server's message of an error answer, else its body. */
static void say_error(const char *what, const wbs__api_resp *r)
{
	cJSON *j = r->body ? cJSON_ParseWithLength(r->body, r->len) : NULL;
	const char *m = cJSON_GetStringValue(cJSON_GetObjectItem(j, "message"));

	fprintf(stderr, "wb sweep %s: http %ld: %.500s\n", what, r->status, m ? m : r->body ? r->body : "");
	cJSON_Delete(j);
}

/* obj[k] as a string, "?" when it is not one. */
static const char *jstr(const cJSON *obj, const char *k)
{
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(obj, k));

	return v ? v : "?";
}

static void print_number(const char *label, const cJSON *v)
{
	if (cJSON_IsNumber(v))
		printf("%s%.10g", label, v->valuedouble);
	else
		printf("%snone", label);
}

/* show: the sweep object as a few lines for a person. */
static void print_sweep(const char *ref, const cJSON *s)
{
	static const char *const states[] = {"pending", "leased", "running", "finished", "failed", "crashed", "stopped"};
	const cJSON *m = cJSON_GetObjectItem(s, "metric"), *c = cJSON_GetObjectItem(s, "counts"),
		    *best = cJSON_GetObjectItem(s, "best");
	char *params = NULL;

	printf("sweep %s  %s  %s\n", ref, jstr(s, "state"),
	       jstr(s, "method"));
	if (cJSON_GetStringValue(cJSON_GetObjectItem(s, "name")))
		printf("  name    %s\n", cJSON_GetStringValue(cJSON_GetObjectItem(s, "name")));
	if (cJSON_IsObject(m))
		printf("  metric  %s (%s)\n", jstr(m, "name"),
		       jstr(m, "goal"));
	print_number("  trials  issued ", cJSON_GetObjectItem(c, "issued"));
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		const cJSON *v = cJSON_GetObjectItem(c, states[i]);
		if (cJSON_IsNumber(v) && v->valuedouble > 0)
			printf(", %s %.0f", states[i], v->valuedouble);
	}
	print_number(", cap ", cJSON_GetObjectItem(s, "run_cap"));
	printf("\n");
	if (cJSON_IsObject(best)) {
		params = cJSON_PrintUnformatted(cJSON_GetObjectItem(best, "params"));
		print_number("  best    ", cJSON_GetObjectItem(best, "value"));
		print_number("  trial ", cJSON_GetObjectItem(best, "trial"));
		printf("  run %s  %s\n", jstr(best, "run_id"),
		       params ? params : "");
	} else {
		printf("  best    none yet\n");
	}
	if (cJSON_GetStringValue(cJSON_GetObjectItem(s, "url")))
		printf("  url     %s\n", cJSON_GetStringValue(cJSON_GetObjectItem(s, "url")));
	free(params);
}

int wbs__cmd_sweep(int argc, char **argv)
{
	const char *verb = argc > 0 ? argv[0] : NULL, *arg = NULL, *project = NULL, *base = NULL, *key = NULL;
	const char *state = NULL;
	char err[1024] = "", parts[3][65], path[512], body[64];
	char *spec = NULL;
	size_t speclen = 0;
	wbs__api a;
	wbs__api_resp r = {0};
	cJSON *j = NULL;
	int code = 1, init = 0;

	if (!verb || !strcmp(verb, "-h") || !strcmp(verb, "--help") || !strcmp(verb, "help")) {
		fputs(sweep_usage, verb ? stdout : stderr);
		return verb ? 0 : 2;
	}
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		if ((!strcmp(s, "--project") || !strcmp(s, "--base-url") || !strcmp(s, "--api-key")) && i + 1 < argc) {
			const char *v = argv[++i];
			*(s[2] == 'p' ? &project : s[2] == 'b' ? &base : &key) = v;
		} else if (s[0] == '-' || arg) {
			fprintf(stderr, "wb sweep: unexpected argument %s\n%s", s, sweep_usage);
			return 2;
		} else {
			arg = s;
		}
	}
	if (!strcmp(verb, "pause"))
		state = "paused";
	else if (!strcmp(verb, "resume"))
		state = "running";
	else if (!strcmp(verb, "stop"))
		state = "stopped";
	else if (!strcmp(verb, "cancel"))
		state = "canceled";
	else if (strcmp(verb, "create") != 0 && strcmp(verb, "show") != 0) {
		fprintf(stderr, "wb sweep: unknown command %s\n%s", verb, sweep_usage);
		return 2;
	}
	if (!strcmp(verb, "create")) {
		if (!arg || !project || wbs__ref_split(project, parts, 2)) {
			fprintf(stderr, "wb sweep create: give the spec file and --project ENTITY/PROJECT\n%s", sweep_usage);
			return 2;
		}
		if (read_spec(arg, &spec, &speclen, err, sizeof(err)))
			goto done;
		snprintf(path, sizeof(path), "/api/v1/projects/%s/%s/sweeps", parts[0], parts[1]);
	} else {
		if (!arg || project || wbs__ref_split(arg, parts, 3)) {
			fprintf(stderr, "wb sweep %s: give the sweep as ENTITY/PROJECT/SWEEP\n%s", verb, sweep_usage);
			return 2;
		}
		snprintf(path, sizeof(path), "/api/v1/projects/%s/%s/sweeps/%s", parts[0], parts[1], parts[2]);
	}
	wbs__api_global_init();
	init = 1;
	if (wbs__api_init(&a, base, key, err, sizeof(err)))
		goto done;
	if (spec) {
		if (wbs__api_do(&a, "POST", path, spec, speclen, spec_type(arg, spec), &r, err, sizeof(err)))
			goto done;
	} else if (state) {
		snprintf(body, sizeof(body), "{\"state\":\"%s\"}", state);
		if (wbs__api_do(&a, "PATCH", path, body, strlen(body), "application/json", &r, err, sizeof(err)))
			goto done;
	} else if (wbs__api_do(&a, "GET", path, NULL, 0, NULL, &r, err, sizeof(err))) {
		goto done;
	}
	if (r.status < 200 || r.status >= 300) {
		say_error(verb, &r);
		err[0] = '\0';
		goto done;
	}
	if (!(j = cJSON_ParseWithLength(r.body, r.len)) || !cJSON_GetStringValue(cJSON_GetObjectItem(j, "id"))) {
		snprintf(err, sizeof(err), "the server's answer is not a sweep");
		goto done;
	}
	if (spec) {
		const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(j, "id"));
		const char *url = cJSON_GetStringValue(cJSON_GetObjectItem(j, "url"));
		printf("%s\n", id);
		fprintf(stderr, "sweep %s/%s/%s created: %s%s\nrun trials with: wb agent %s/%s/%s\n", parts[0], parts[1],
			id, a.base, url ? url : "", parts[0], parts[1], id);
	} else if (state) {
		printf("sweep %s: %s\n", arg, jstr(j, "state"));
	} else {
		print_sweep(arg, j);
	}
	code = 0;
done:
	if (code && err[0])
		fprintf(stderr, "wb sweep %s: %s\n", verb, err);
	cJSON_Delete(j);
	free(r.body);
	free(spec);
	if (init)
		wbs__api_global_cleanup();
	return code;
}
