/*
 * api.c — the CLI's one HTTP client: small blocking requests to a wb
 * server's /api/v1 with an API key (libcurl), for the client commands that
 * talk to the API themselves (export, import, login). The commands that
 * go through libwb (sync, restore, artifact, tensorboard) use libwb's own
 * client, sdk/src/upload.c; this one exists because those commands need
 * what libwb's does not offer: any method and path, an answer streamed to a
 * sink, and no run around it.
 *
 * Where the server and the key come from is libwb's rule, not a second
 * reading of the settings file (sdk/internal/settings_file.h): --base-url,
 * else WB_BASE_URL, else the file's, else the default; --api-key, else
 * WB_API_KEY, else the file's key for that origin only. WB_CA_FILE names a
 * private CA for an https server, as it does for libwb.
 *
 * Threads: one request at a time per call; the command calls
 * wbs__api_global_init before the first.
 */
#include "api.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settings_file.h"
#include "wire.h"
#include "util/buf.h"

void wbs__api_global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void wbs__api_global_cleanup(void)
{
	curl_global_cleanup();
}

struct xfer_call {
	CURL *c;
	const wbs__api_req *rq;
	wbs__buf *b;
	long status; /* 0 until the first byte of the body */
	int stopped;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct xfer_call *x = arg;

	if (x->status == 0)
		curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &x->status);
	if (x->rq->sink && x->status >= 200 && x->status < 300) {
		if (x->rq->sink(p, size * n, x->rq->sink_arg)) {
			x->stopped = 1;
			return 0;
		}
		return size * n;
	}
	wbs__buf_put(x->b, p, size * n);
	return x->b->err ? 0 : size * n;
}

int wbs__api_request(const wbs__api *a, const wbs__api_req *rq, wbs__api_resp *out, char *err, size_t errlen)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[4096], auth[300], ct[128];
	const char *ca;
	struct xfer_call x;
	wbs__buf b;
	CURLcode rc;

	memset(out, 0, sizeof(*out));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	wbs__buf_init(&b, (size_t)4 << 30);
	memset(&x, 0, sizeof(x));
	x.c = c;
	x.rq = rq;
	x.b = &b;
	snprintf(url, sizeof(url), "%s%s", a->base, rq->path);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", a->key);
	h = curl_slist_append(h, auth);
	h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip (a 1 s wait per large body) */
	if (rq->ctype) {
		snprintf(ct, sizeof(ct), "Content-Type: %s", rq->ctype);
		h = curl_slist_append(h, ct);
	}
	if (rq->header)
		h = curl_slist_append(h, rq->header);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	if ((ca = getenv("WB_CA_FILE")) && *ca) /* as libwb: a private CA for an https server */
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	if (rq->timeout_ms > 0) { /* a caller with a deadline of its own (wb agent's heartbeats) */
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, rq->timeout_ms);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, rq->timeout_ms);
	} else if (!rq->sink)
		curl_easy_setopt(c, CURLOPT_TIMEOUT, 600L);
	else { /* a blob of gigabytes takes as long as it takes, while it moves */
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 120L);
	}
	if (rq->body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->len);
	}
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (x.stopped) { /* the sink said why */
		wbs__buf_free(&b);
		return -1;
	}
	if (rc != CURLE_OK || b.err) {
		snprintf(err, errlen, "%s %s: %s", rq->method, rq->path,
			 rc != CURLE_OK ? curl_easy_strerror(rc) : "answer too large");
		wbs__buf_free(&b);
		return -1;
	}
	if (rq->sink && out->status >= 200 && out->status < 300) { /* the sink had the body */
		wbs__buf_free(&b);
		return 0;
	}
	wbs__buf_putc(&b, '\0');
	out->len = b.len - 1;
	out->body = wbs__buf_take(&b);
	wbs__buf_free(&b);
	if (!out->body) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

int wbs__api_do(const wbs__api *a, const char *method, const char *path, const void *body, size_t len,
		const char *ctype, wbs__api_resp *out, char *err, size_t errlen)
{
	wbs__api_req rq = {method, path, body, len, ctype, NULL, NULL, NULL, 0};
	return wbs__api_request(a, &rq, out, err, errlen);
}

int wbs__api_call(const wbs__api *a, const char *method, const char *path, const void *body, size_t len,
		  const char *ctype, long want, wbs__api_resp *out, char *err, size_t errlen)
{
	if (wbs__api_do(a, method, path, body, len, ctype, out, err, errlen))
		return -1;
	if (want ? out->status == want : out->status >= 200 && out->status < 300)
		return 0;
	snprintf(err, errlen, "%s %.600s: http %ld: %.300s", method, path, out->status, out->body ? out->body : "");
	free(out->body);
	out->body = NULL;
	return -1;
}

int wbs__api_init(wbs__api *a, const char *base, const char *key, char *err, size_t errlen)
{
	char *file_url = NULL, *use = NULL;
	size_t n;
	int rc = 0;

	memset(a, 0, sizeof(*a));
	base = wb__setting_str(base && *base ? base : NULL, "WB_BASE_URL");
	if ((!base && wb__settings_file_read(&file_url)) ||
	    wb__settings_key_for(base ? base : file_url ? file_url : WB__DEFAULT_BASE_URL, key, &use)) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
		goto done;
	}
	snprintf(a->base, sizeof(a->base), "%s", base ? base : file_url ? file_url : WB__DEFAULT_BASE_URL);
	n = strlen(a->base);
	while (n && a->base[n - 1] == '/')
		a->base[--n] = '\0';
	if (use) {
		snprintf(a->key, sizeof(a->key), "%s", use);
	} else {
		/* the settings file's key belongs to another server, or there is none: say which */
		wb__settings_no_key_why(a->base, err, errlen);
		rc = -1;
	}
done:
	free(file_url);
	if (use) {
		memset(use, 0, strlen(use));
		free(use);
	}
	return rc;
}

int wbs__qenc(char *out, size_t cap, const char *s)
{
	size_t o = 0;

	if (cap < 3 * strlen(s) + 1)
		return -1;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("-_.~", c))
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, cap - o, "%%%02X", c);
	}
	out[o] = '\0';
	return 0;
}

int wbs__ref_split(const char *s, char parts[3][65], int n)
{
	const char *p = s;

	for (int i = 0; i < n; i++) {
		size_t l = strcspn(p, "/");
		if (l == 0 || l > 64 || (i < n - 1 && p[l] != '/') || (i == n - 1 && p[l] != '\0'))
			return -1;
		memcpy(parts[i], p, l);
		parts[i][l] = '\0';
		if (!wb__name_valid(parts[i]))
			return -1;
		p += l + 1;
	}
	return 0;
}
