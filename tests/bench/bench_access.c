/*
 * bench_access — what accounts cost a request, against a real `wb server`
 * on loopback (one keep-alive connection, sequential requests):
 *
 *   access_read_key      GET of a run with a Bearer key (key lookup + the
 *                        permission query + the read), per request
 *   access_read_public   the same run of a public project with no credentials
 *   access_read_session  the same with the session cookie
 *   access_login         POST /auth/login: dominated by scrypt (N=2^15, r=8)
 *
 * One JSON object a line: {"bench": ..., "value": ..., "unit": ...}.
 * WB_BENCH_REQUESTS sets the requests per read figure (default 2000).
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static size_t sink(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

static size_t grab_cookie(char *p, size_t size, size_t n, void *ud)
{
	char *out = ud;
	size_t len = size * n;
	if (len > 23 && strncmp(p, "Set-Cookie: wb_session=", 23) == 0) {
		size_t k = 0;
		for (const char *c = p + 12; c < p + len && *c != ';' && k < 127; c++)
			out[k++] = *c;
		out[k] = '\0';
	}
	return len;
}

/* One request on c; its status. */
static long request(CURL *c, const char *url, const char *method, const char *body, struct curl_slist *h)
{
	long st = 0;
	curl_easy_setopt(c, CURLOPT_URL, url);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	} else {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (curl_easy_perform(c) != CURLE_OK)
		return -1;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
	return st;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* n GETs of url with header h (may be NULL); prints the median in microseconds. */
static int reads(CURL *c, const char *name, const char *url, struct curl_slist *h, int n)
{
	double *t = malloc(sizeof(double) * (size_t)n);
	if (!t)
		return -1;
	for (int i = 0; i < n; i++) {
		double t0 = wbt_now();
		long st = request(c, url, "GET", NULL, h);
		t[i] = (wbt_now() - t0) * 1e6;
		if (st != 200) {
			fprintf(stderr, "bench_access: %s answered %ld\n", name, st);
			free(t);
			return -1;
		}
	}
	qsort(t, (size_t)n, sizeof(double), cmp);
	printf("{\"bench\":\"%s\",\"value\":%.1f,\"unit\":\"us_p50\",\"p99_us\":%.1f,\"requests\":%d}\n", name, t[n / 2],
	       t[(size_t)((double)n * 0.99)], n);
	free(t);
	return 0;
}

int main(void)
{
	wbt_server s;
	CURL *c = NULL;
	struct curl_slist *key = NULL, *json = NULL, *cookie = NULL;
	char url[512], line[256], token[128], body[256], ck[128] = "";
	const char *env = getenv("WB_BENCH_REQUESTS");
	int n = env ? atoi(env) : 2000, rc = 1;
	wbt_response r;
	FILE *fp;

	if (n < 10)
		n = 10;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (wbt_server_start(&s, NULL))
		return 1;
	c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	snprintf(line, sizeof(line), "Authorization: Bearer %s", s.key);
	key = curl_slist_append(NULL, line);
	json = curl_slist_append(NULL, "Content-Type: application/json");
	/* A public project with one run, and the admin's password from the setup link. */
	if (wbt_http(&s, "PUT", "/api/v1/projects/b/pub", "{\"visibility\":\"public\"}", 23,
		     (const char *const[]){"Content-Type: application/json", NULL}, 1, &r) || r.status != 200)
		goto done;
	wbt_response_free(&r);
	if (wbt_http(&s, "PUT", "/api/v1/projects/b/pub/runs/r1", "{}", 2,
		     (const char *const[]){"Content-Type: application/json", NULL}, 1, &r) || r.status != 201)
		goto done;
	wbt_response_free(&r);
	{
		char log[65536];
		size_t got;
		const char *p;
		if (!(fp = fopen(s.log, "r")))
			goto done;
		got = fread(log, 1, sizeof(log) - 1, fp);
		log[got] = '\0';
		fclose(fp);
		if (!(p = strstr(log, "setup?token=")))
			goto done;
		p += 12;
		snprintf(token, sizeof(token), "%.*s", (int)strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"), p);
	}
	snprintf(body, sizeof(body), "{\"token\":\"%s\",\"password\":\"bench password\"}", token);
	snprintf(url, sizeof(url), "%s/api/v1/auth/setup", s.url);
	if (request(c, url, "POST", body, json) != 200)
		goto done;

	snprintf(url, sizeof(url), "%s/api/v1/projects/b/pub/runs/r1", s.url);
	if (reads(c, "access_read_key", url, key, n) || reads(c, "access_read_public", url, NULL, n))
		goto done;
	/* Logins: scrypt per request. */
	{
		double t0 = wbt_now();
		int logins = 20;
		snprintf(url, sizeof(url), "%s/api/v1/auth/login", s.url);
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, grab_cookie);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, ck);
		for (int i = 0; i < logins; i++)
			if (request(c, url, "POST", "{\"name\":\"admin\",\"password\":\"bench password\"}", json) != 200)
				goto done;
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, NULL);
		printf("{\"bench\":\"access_login\",\"value\":%.1f,\"unit\":\"ms_mean\",\"logins\":%d}\n",
		       (wbt_now() - t0) * 1e3 / logins, logins);
	}
	snprintf(line, sizeof(line), "Cookie: %s", ck);
	cookie = curl_slist_append(NULL, line);
	snprintf(url, sizeof(url), "%s/api/v1/projects/b/pub/runs/r1", s.url);
	if (reads(c, "access_read_session", url, cookie, n))
		goto done;
	rc = 0;
done:
	if (rc)
		fprintf(stderr, "bench_access: failed; log %s\n", s.log);
	curl_slist_free_all(key);
	curl_slist_free_all(json);
	curl_slist_free_all(cookie);
	if (c)
		curl_easy_cleanup(c);
	wbt_server_cleanup(&s);
	curl_global_cleanup();
	return rc;
}
