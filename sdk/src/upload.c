/*
 * upload.c — the SDK's only HTTP client and its only gzip compressor.
 *
 * Everything libwb says to the server goes through here: the live
 * uploader thread and wb_sync share the same requests and the same batch
 * logic, so "send the log from the server's last_seq, exactly once" is
 * written once; wb restore and the artifacts (artifact_push.c: blobs in
 * chunks, downloads streamed to disk) make their requests through the
 * same wb__http_request and retry with the same backoff. No other file
 * includes curl.h.
 *
 * Transport. One curl easy handle per wb__http, driven through a multi
 * handle of its own. Reusing the easy handle keeps the connection alive
 * between requests (the multi handle owns the connection cache); driving
 * it with curl_multi_poll in short slices lets another thread cancel a
 * request at any point, connecting included, with curl_multi_wakeup: that
 * is how wb_run_finish keeps its deadline even when the server is blackholed.
 * CURLOPT_NOSIGNAL because the trainer owns the signals, and every request
 * has a timeout no longer than its caller's deadline. Options are reset
 * and set anew for every request, so no request inherits another's body.
 * An answer is kept in a buffer with a maximum, or, for a download, handed
 * to the caller's sink as it arrives so that a large file is never whole
 * in memory.
 *
 * Batches. A POST body is a slice of the run log itself: whole frames, up
 * to WB__UPLOAD_BATCH bytes, gzip'ed (level 1: at ~300 MB/s it never holds
 * the uploader back, and metric frames compress 3-5x). The server answers
 * with its last_seq, and skips frames it already has, so a retry after a
 * lost answer never applies anything twice; 409 sequence_gap tells the
 * cursor where to restart.
 *
 * Errors are translated once, here: curl codes become WB_ENET/WB_ETIMEOUT,
 * statuses become WB_EAUTH/WB_ENOTFOUND/WB_ESERVER with the server's own
 * one-line message. Retries wait a jittered exponential backoff, or the
 * server's Retry-After when it is longer (429 and 503). The API key goes
 * into one header string and nowhere else; it is wiped before it is freed.
 */
#include "upload.h"

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "error.h"
#include "json.h"
#include "names.h"
#include "runlog.h"
#include "settings.h"
#include "util.h"

#define RESPONSE_MAX (1u << 20)
#define WB__HTTP_GAP 1 /* internal: 409 sequence_gap */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

static const char *const HDR_JSON[] = {"Content-Type: application/json", NULL};
static const char *const HDR_FRAMES[] = {"Content-Type: application/x-wb-frames", "Content-Encoding: gzip", NULL};

struct wb__http {
	CURL *easy;
	CURLM *multi;
	char *url;              /* every request's URL starts with it */
	char *label;            /* names the requests in messages: "run", "artifacts" */
	char *auth;             /* "Authorization: Bearer <key>", or NULL */
	char *ca_file;          /* CURLOPT_CAINFO, or NULL for the system's CA store */
	int64_t timeout_ms;     /* any one request, at most */
	const wb__http_req *req; /* the request in flight */
	int sink_rc;            /* what its sink returned when it stopped the transfer */
	char *resp;
	size_t resp_len, resp_cap, resp_max;
	int resp_too_big;
	int64_t retry_after_ms; /* the last 429/503 answer's Retry-After, in ms; 0 if none */
	int tls_failed;         /* the last request failed verifying the server: retrying cannot help */
	long status;
	char code[64];          /* the error.code of the last error answer */
	_Atomic int aborted;
	char errbuf[CURL_ERROR_SIZE];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void wipe_free(char *s)
{
	if (s) {
		memset(s, 0, strlen(s));
		free(s);
	}
}

void wb__run_state_free(wb__run_state *st)
{
	if (st) {
		free(st->name);
		st->name = NULL;
	}
}

/* The header list of one request: Authorization (if any), extra, and an
 * empty Expect (curl would otherwise wait for 100-continue on large
 * bodies). Free with free_headers. */
static int make_headers(struct curl_slist **out, const char *auth, const char *const *extra)
{
	struct curl_slist *l = NULL, *t;

	*out = NULL;
	if (auth && !(l = curl_slist_append(NULL, auth)))
		goto oom;
	for (size_t i = 0; extra && extra[i]; i++) {
		if (!(t = curl_slist_append(l, extra[i])))
			goto oom;
		l = t;
	}
	if (!(t = curl_slist_append(l, "Expect:")))
		goto oom;
	*out = t;
	return WB_OK;
oom:
	curl_slist_free_all(l);
	return wb__error(WB_ENOMEM, "out of memory");
}

/* The list holds a copy of the key: wipe it before freeing. */
static void free_headers(struct curl_slist *l)
{
	for (struct curl_slist *i = l; i; i = i->next)
		memset(i->data, 0, strlen(i->data));
	curl_slist_free_all(l);
}

int wb__http_open(wb__http **out, const char *url, const char *label, const char *api_key, int64_t timeout_ms)
{
	wb__http *h = NULL;
	int rc;

	*out = NULL;
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK)
		return wb__error(WB_ENET, "cannot initialise libcurl: %s", curl_easy_strerror(curl_init_rc));
	h = calloc(1, sizeof *h);
	if (!h)
		return wb__error(WB_ENOMEM, "out of memory");
	atomic_init(&h->aborted, 0);
	h->timeout_ms = timeout_ms;
	h->easy = curl_easy_init();
	h->multi = curl_multi_init();
	if (!h->easy || !h->multi) {
		rc = wb__error(WB_ENOMEM, "cannot create a curl handle");
		goto fail;
	}
	if (!(h->url = wb__strdup(url)) || !(h->label = wb__strdup(label))) {
		rc = wb__error(WB_ENOMEM, "out of memory");
		goto fail;
	}
	if (api_key && api_key[0] && (rc = wb__asprintf(&h->auth, "Authorization: Bearer %s", api_key)))
		goto fail;
	/* WB_CA_FILE by default (wb sync, wb restore); wb_run_init's ca_file option via wb__http_set_ca_file. */
	if ((rc = wb__http_set_ca_file(h, getenv("WB_CA_FILE"))))
		goto fail;
	*out = h;
	return WB_OK;
fail:
	wb__http_free(h);
	return rc;
}

int wb__http_new(wb__http **out, const char *base_url, const char *api_key, const char *entity,
		 const char *project, const char *run_id)
{
	char *url = NULL;
	int rc;

	*out = NULL;
	if ((rc = wb__asprintf(&url, "%s/api/v1/projects/%s/%s/runs/%s", base_url, entity, project, run_id)))
		return rc;
	rc = wb__http_open(out, url, "run", api_key, WB__HTTP_TIMEOUT_MS);
	free(url);
	return rc;
}

int wb__http_run_url(wb__http *h, const char *base_url, const char *entity, const char *project, const char *run_id)
{
	char *url = NULL, *label = NULL;
	int rc;

	if ((rc = wb__asprintf(&url, "%s/api/v1/projects/%s/%s/runs/%s", base_url, entity, project, run_id)) ||
	    !(label = wb__strdup("run"))) {
		free(url);
		return rc ? rc : WB_ENOMEM;
	}
	free(h->url);
	free(h->label);
	h->url = url;
	h->label = label;
	return WB_OK;
}

void wb__http_free(wb__http *h)
{
	if (!h)
		return;
	if (h->easy)
		curl_easy_cleanup(h->easy);
	if (h->multi)
		curl_multi_cleanup(h->multi);
	wipe_free(h->auth);
	free(h->url);
	free(h->label);
	free(h->resp);
	free(h->ca_file);
	free(h);
}

int wb__http_set_ca_file(wb__http *h, const char *path)
{
	char *p = NULL;

	if (path && *path && !(p = wb__strdup(path)))
		return WB_ENOMEM;
	free(h->ca_file);
	h->ca_file = p;
	return WB_OK;
}

void wb__http_abort(wb__http *h)
{
	atomic_store(&h->aborted, 1);
	curl_multi_wakeup(h->multi);
}

long wb__http_status(const wb__http *h)
{
	return h->status;
}

const char *wb__http_error_code(const wb__http *h)
{
	return h->code;
}

int wb__http_escape(wb__http *h, const char *s, char **out)
{
	char *e = curl_easy_escape(h->easy, s, 0);

	*out = e ? wb__strdup(e) : NULL;
	curl_free(e);
	return *out ? WB_OK : wb__error(WB_ENOMEM, "out of memory");
}

int wb__http_retryable(const wb__http *h, int rc)
{
	if (rc == WB_ENET)
		return !h->tls_failed;
	if (rc == WB_ESERVER || rc == WB_ENOTFOUND)
		return h->status == 408 || h->status == 429 || h->status >= 500;
	return 0;
}

int64_t wb__http_backoff(const wb__http *h, int64_t *cur)
{
	int64_t wait;

	*cur = *cur ? (*cur * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : *cur * 2) : BACKOFF_MIN_MS;
	wait = *cur / 2 + (int64_t)(wb__random_u64() % (uint64_t)(*cur / 2 + 1));
	return h->retry_after_ms > wait ? h->retry_after_ms : wait;
}

int wb__http_retry_wait(const wb__http *h, int64_t *cur, int64_t deadline)
{
	int64_t wait = wb__http_backoff(h, cur);
	struct timespec ts;

	if (wb__mono_ms() + wait >= deadline)
		return 0;
	ts.tv_sec = (time_t)(wait / 1000);
	ts.tv_nsec = (long)(wait % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	return 1;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	wb__http *h = arg;
	size_t n = size * nmemb, need;

	if (h->req->sink) {
		if (h->status == 0)
			curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &h->status);
		if (h->status >= 200 && h->status < 300)
			return (h->sink_rc = h->req->sink(h->req->sink_arg, data, n)) ? 0 : n;
	}
	if (wb__add_overflow(h->resp_len, n + 1, &need) || need > h->resp_max) {
		h->resp_too_big = 1;
		return 0;
	}
	if (need > h->resp_cap) {
		size_t cap = h->resp_cap ? h->resp_cap : 4096;
		char *p;
		while (cap < need)
			cap *= 2;
		p = realloc(h->resp, cap);
		if (!p)
			return 0;
		h->resp = p;
		h->resp_cap = cap;
	}
	memcpy(h->resp + h->resp_len, data, n);
	h->resp_len += n;
	h->resp[h->resp_len] = '\0';
	return n;
}

/* Run the configured easy handle to completion, the deadline or an abort.
 * *cc receives curl's result when the transfer completed. */
static int perform(wb__http *h, int64_t deadline, CURLcode *cc)
{
	CURLMcode mc;
	CURLMsg *msg;
	int running = 1, left, rc = WB_OK;

	if ((mc = curl_multi_add_handle(h->multi, h->easy)) != CURLM_OK)
		return wb__error(WB_ENET, "curl: %s", curl_multi_strerror(mc));
	for (;;) {
		int64_t now, wait;

		if ((mc = curl_multi_perform(h->multi, &running)) != CURLM_OK) {
			rc = wb__error(WB_ENET, "curl: %s", curl_multi_strerror(mc));
			goto done;
		}
		if (!running)
			break;
		now = wb__mono_ms();
		if (atomic_load(&h->aborted) || now >= deadline) {
			rc = WB_ETIMEOUT;
			goto done;
		}
		wait = deadline - now < 1000 ? deadline - now : 1000;
		curl_multi_poll(h->multi, NULL, 0, (int)wait, NULL);
	}
	*cc = CURLE_OK;
	while ((msg = curl_multi_info_read(h->multi, &left)))
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == h->easy)
			*cc = msg->data.result;
done:
	curl_multi_remove_handle(h->multi, h->easy);
	return rc;
}

/* Set the easy handle up for r on url with hdrs and timeout (ms). */
static void configure(wb__http *h, const wb__http_req *r, const char *url, struct curl_slist *hdrs, int64_t timeout)
{
	curl_easy_reset(h->easy);
	curl_easy_setopt(h->easy, CURLOPT_URL, url);
	curl_easy_setopt(h->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h->easy, CURLOPT_TIMEOUT_MS, (long)timeout);
	curl_easy_setopt(h->easy, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)(timeout < WB__HTTP_CONNECT_TIMEOUT_MS ? timeout : WB__HTTP_CONNECT_TIMEOUT_MS));
	curl_easy_setopt(h->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h->easy, CURLOPT_USERAGENT, "libwb/" WB_VERSION);
	curl_easy_setopt(h->easy, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(h->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h->easy, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(h->easy, CURLOPT_HTTPHEADER, hdrs);
	if (h->ca_file)
		curl_easy_setopt(h->easy, CURLOPT_CAINFO, h->ca_file);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h->easy, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	if (strcmp(r->method, "GET") == 0) {
		curl_easy_setopt(h->easy, CURLOPT_HTTPGET, 1L);
		if (r->sink)
			curl_easy_setopt(h->easy, CURLOPT_BUFFERSIZE, 512L * 1024); /* fewer, larger writes of a file */
	} else {
		curl_easy_setopt(h->easy, CURLOPT_POST, 1L);
		curl_easy_setopt(h->easy, CURLOPT_POSTFIELDS, r->body ? r->body : "");
		curl_easy_setopt(h->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->len);
		if (r->len > (1u << 20))
			curl_easy_setopt(h->easy, CURLOPT_UPLOAD_BUFFERSIZE, 2L << 20); /* fewer, larger sends */
		if (strcmp(r->method, "POST") != 0)
			curl_easy_setopt(h->easy, CURLOPT_CUSTOMREQUEST, r->method);
	}
}

/* Copy the server's "error.message" (or the status) into errmsg; on a 401
 * to a request that carried no key, say why none was sent. */
static int server_error(wb__http *h, int code, const char *what, const cJSON *body)
{
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(body, "error");
	const char *msg = wb__json_get_str(err, "message");
	char why[512] = "";

	if (h->status == 401 && !h->auth) {
		why[0] = ';';
		why[1] = ' ';
		wb__settings_no_key_why(h->url, why + 2, sizeof why - 2);
	}
	return wb__error(code, "%s: server answered %ld%s%s%s", what, h->status, msg ? ": " : "", msg ? msg : "",
			 why);
}

int wb__http_request(wb__http *h, const wb__http_req *r, int64_t deadline, cJSON **out)
{
	struct curl_slist *hdrs = NULL;
	char *url = NULL, what[256];
	int64_t timeout = deadline - wb__mono_ms();
	CURLcode cc = CURLE_OK;
	cJSON *json = NULL;
	int rc;

	if (out)
		*out = NULL;
	h->status = 0;
	h->retry_after_ms = 0;
	h->tls_failed = 0;
	h->code[0] = '\0';
	snprintf(what, sizeof what, "%s %s%s", r->method, h->label, r->suffix);
	if (atomic_load(&h->aborted))
		return wb__error(WB_ETIMEOUT, "%s: aborted", what);
	if (timeout <= 0)
		return wb__error(WB_ETIMEOUT, "%s: out of time", what);
	if (timeout > h->timeout_ms)
		timeout = h->timeout_ms;
	if ((rc = wb__asprintf(&url, "%s%s", h->url, r->suffix)) || (rc = make_headers(&hdrs, h->auth, r->headers))) {
		free(url);
		return rc;
	}
	h->req = r;
	h->sink_rc = WB_OK;
	h->resp_len = 0;
	h->resp_max = r->resp_max ? r->resp_max : RESPONSE_MAX;
	h->resp_too_big = 0;
	h->errbuf[0] = '\0';
	configure(h, r, url, hdrs, timeout);
	rc = perform(h, deadline, &cc);
	h->req = NULL;
	free_headers(hdrs);
	free(url);
	if (rc || (!h->sink_rc && cc != CURLE_OK))
		h->status = 0; /* no answer (a sink may have seen its status) */
	if (rc == WB_ETIMEOUT)
		return wb__error(rc, "%s: no answer before the deadline", what);
	if (rc)
		return rc;
	if (h->sink_rc)
		return h->sink_rc;
	if (cc != CURLE_OK) {
		h->tls_failed = cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE ||
				cc == CURLE_SSL_CERTPROBLEM || cc == CURLE_SSL_ISSUER_ERROR ||
				cc == CURLE_SSL_PINNEDPUBKEYNOTMATCH;
		if (cc == CURLE_OPERATION_TIMEDOUT && wb__mono_ms() >= deadline)
			return wb__error(WB_ETIMEOUT, "%s: out of time", what);
		return wb__error(WB_ENET, "%s: %s", what,
				 h->resp_too_big ? "answer too large" : h->errbuf[0] ? h->errbuf : curl_easy_strerror(cc));
	}
	curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &h->status);
	if (h->status == 429 || h->status == 503) {
		/* Retry-After in seconds (an HTTP date gives 0: keep the backoff). */
		curl_off_t ra = 0;
		if (curl_easy_getinfo(h->easy, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
			h->retry_after_ms = (ra > 3600 ? 3600 : (int64_t)ra) * 1000;
	}
	if (h->resp_len)
		json = wb__json_parse(h->resp, h->resp_len);
	if (h->status >= 200 && h->status < 300) {
		if (out && !json)
			return wb__error(WB_ESERVER, "%s: the %ld answer is not json: %.80s", what, h->status,
					 h->resp_len ? h->resp : "(empty)");
		rc = WB_OK;
	} else {
		const char *code = wb__json_get_str(cJSON_GetObjectItemCaseSensitive(json, "error"), "code");
		snprintf(h->code, sizeof h->code, "%s", code ? code : "");
		rc = server_error(h, h->status == 401 || h->status == 403 ? WB_EAUTH
				     : h->status == 404			  ? WB_ENOTFOUND
									  : WB_ESERVER,
				  what, json);
	}
	if (out)
		*out = json;
	else
		cJSON_Delete(json);
	return rc;
}

/* A request of a run without headers of its own beyond the Content-Type. */
static int http_do(wb__http *h, const char *method, const char *suffix, const char *const *hdrs, const void *body,
		   size_t len, int64_t deadline, cJSON **out)
{
	wb__http_req r = {.method = method, .suffix = suffix, .headers = hdrs, .body = body, .len = len};

	return wb__http_request(h, &r, deadline, out);
}

static int parse_run(const cJSON *json, wb__run_state *st)
{
	const char *name = wb__json_get_str(json, "name");

	memset(st, 0, sizeof *st);
	st->last_step = -1;
	if (!wb__json_get_u64(json, "last_seq", &st->last_seq))
		st->last_seq = 0;
	if (!wb__json_get_i64(json, "last_step", &st->last_step))
		st->last_step = -1;
	if (name && !(st->name = strdup(name)))
		return wb__error(WB_ENOMEM, "out of memory");
	return WB_OK;
}

int wb__http_put_run(wb__http *h, const char *json, size_t len, int64_t deadline, wb__run_state *st)
{
	cJSON *ans = NULL;
	int rc;

	memset(st, 0, sizeof *st);
	st->last_step = -1;
	rc = http_do(h, "PUT", "", HDR_JSON, json, len, deadline, &ans);
	if (!rc)
		rc = parse_run(ans, st);
	cJSON_Delete(ans);
	return rc;
}

int wb__http_get_run(wb__http *h, int64_t deadline, wb__run_state *st)
{
	cJSON *ans = NULL;
	int rc;

	memset(st, 0, sizeof *st);
	st->last_step = -1;
	rc = http_do(h, "GET", "", HDR_JSON, NULL, 0, deadline, &ans);
	if (!rc)
		rc = parse_run(ans, st);
	cJSON_Delete(ans);
	return rc;
}

int wb__http_get_raw(wb__http *h, const char *suffix, size_t max, int64_t deadline, char **body, size_t *len)
{
	wb__http_req r = {.method = "GET", .suffix = suffix, .headers = HDR_JSON, .resp_max = max + 1};
	int rc;

	*body = NULL;
	*len = 0;
	rc = wb__http_request(h, &r, deadline, NULL);
	if (rc)
		return rc;
	if (!(*body = malloc(h->resp_len + 1)))
		return wb__error(WB_ENOMEM, "out of memory");
	memcpy(*body, h->resp ? h->resp : "", h->resp_len);
	(*body)[h->resp_len] = '\0';
	*len = h->resp_len;
	return WB_OK;
}

int wb__http_whoami(wb__http *h, int64_t deadline, char **entity)
{
	cJSON *ans = NULL;
	const char *name;
	int rc;

	*entity = NULL;
	if ((rc = http_do(h, "GET", "", HDR_JSON, NULL, 0, deadline, &ans)))
		goto done;
	name = wb__json_get_str(cJSON_GetObjectItemCaseSensitive(ans, "user"), "name");
	if (!name) {
		/* the route is public: a server without accounts, or no key, answers {"user": null} */
		rc = wb__error(WB_EAUTH, "the server at %s knows no user for this api key", h->url);
		goto done;
	}
	if (!wb__name_valid(name)) {
		rc = wb__error(WB_ESERVER, "the server named the key's owner with a name that is not an entity");
		goto done;
	}
	if (!(*entity = wb__strdup(name)))
		rc = WB_ENOMEM;
done:
	cJSON_Delete(ans);
	return rc;
}

int wb__whoami_open(wb__http **out, const char *base_url, const char *api_key, const char *ca_file)
{
	char *url = NULL;
	int rc;

	*out = NULL;
	if ((rc = wb__asprintf(&url, "%s" WB__WHOAMI_PATH, base_url)))
		return rc;
	if (!(rc = wb__http_open(out, url, "whoami", api_key, WB__HTTP_TIMEOUT_MS)) &&
	    ca_file && (rc = wb__http_set_ca_file(*out, ca_file))) {
		wb__http_free(*out);
		*out = NULL;
	}
	free(url);
	return rc;
}

int wb__whoami(const char *base_url, const char *api_key, const char *ca_file, int64_t deadline, int retry,
	       char **entity)
{
	wb__http *h = NULL;
	int64_t delay = 0;
	int rc;

	*entity = NULL;
	if ((rc = wb__whoami_open(&h, base_url, api_key, ca_file)))
		return rc;
	while ((rc = wb__http_whoami(h, deadline, entity)) && retry && wb__http_retryable(h, rc) &&
	       wb__http_retry_wait(h, &delay, deadline))
		;
	wb__http_free(h);
	return rc;
}

/* 1 when a run's answer says the trainer should stop: its member
 * "should_stop" is the JSON literal true. Parsed, not searched for: false,
 * 1, "true", or the words inside some string mean nothing. */
static int says_stop(const cJSON *ans)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ans, "should_stop"));
}

int wb__http_heartbeat(wb__http *h, int64_t deadline, int *should_stop)
{
	cJSON *ans = NULL;
	int rc;

	/* The answer is read only for should_stop: a 2xx without JSON is still a heartbeat that arrived. */
	rc = http_do(h, "POST", "/heartbeat", HDR_JSON, NULL, 0, deadline, NULL);
	if (rc == WB_OK && h->resp_len && (ans = wb__json_parse(h->resp, h->resp_len)) && says_stop(ans))
		*should_stop = 1;
	cJSON_Delete(ans);
	return rc;
}

int wb__http_finish(wb__http *h, const char *json, int64_t deadline)
{
	return http_do(h, "POST", "/finish", HDR_JSON, json, strlen(json), deadline, NULL);
}

/* POST frames. WB_OK with *last_seq, WB__HTTP_GAP with *expected, or an
 * error; *should_stop becomes 1 when a 2xx answer says so (never 0). */
static int post_records(wb__http *h, const uint8_t *body, size_t len, int64_t deadline, uint64_t *last_seq,
			uint64_t *expected, int *should_stop)
{
	cJSON *ans = NULL;
	const cJSON *err;
	const char *code;
	int rc;

	rc = http_do(h, "POST", "/records", HDR_FRAMES, body, len, deadline, &ans);
	if (rc == WB_OK && says_stop(ans))
		*should_stop = 1;
	if (rc == WB_OK && !wb__json_get_u64(ans, "last_seq", last_seq))
		rc = wb__error(WB_ESERVER, "POST run/records: the answer has no last_seq");
	if (rc == WB_ESERVER && h->status == 409) {
		err = cJSON_GetObjectItemCaseSensitive(ans, "error");
		code = wb__json_get_str(err, "code");
		if (code && strcmp(code, "sequence_gap") == 0 &&
		    (wb__json_get_u64(ans, "expected", expected) || wb__json_get_u64(err, "expected", expected)) &&
		    *expected >= 1)
			rc = WB__HTTP_GAP;
	}
	cJSON_Delete(ans);
	return rc;
}

void wb__upload_init(wb__upload *u, wb__http *h, int fd)
{
	memset(u, 0, sizeof *u);
	u->http = h;
	u->fd = fd;
}

void wb__upload_free(wb__upload *u)
{
	if (!u)
		return;
	wb__gzip_free(&u->z);
	free(u->buf);
	free(u->zbuf);
	u->buf = u->zbuf = NULL;
}

size_t wb__gzip_bound(size_t n)
{
	/* compressBound covers a zlib stream (6 bytes of wrapper); gzip's is 18 */
	return n > (size_t)UINT_MAX ? 0 : (size_t)compressBound((uLong)n) + 64;
}

/*
 * The SDK's one gzip writer (run log batches here, artifact chunks in
 * artifact_push.c): level 1, as the uploads are sent from the caller's
 * machine while it trains and most of their gain is in the first level.
 * The deflate state is made on first use and reset for the next, so a
 * stream of batches allocates once.
 */
int wb__gzip(void **state, const uint8_t *in, size_t n, uint8_t *out, size_t cap, size_t *outlen)
{
	z_stream *z = *state;

	*outlen = 0;
	if (n > (size_t)UINT_MAX)
		return WB_EINVAL;
	if (!z) {
		if (!(z = calloc(1, sizeof *z)))
			return WB_ENOMEM;
		if (deflateInit2(z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
			free(z);
			return WB_ENOMEM;
		}
		*state = z;
	} else if (deflateReset(z) != Z_OK) {
		return WB_ENOMEM;
	}
	z->next_in = (Bytef *)(uintptr_t)in;
	z->avail_in = (uInt)n;
	z->next_out = out;
	z->avail_out = cap > (size_t)UINT_MAX ? UINT_MAX : (uInt)cap;
	if (deflate(z, Z_FINISH) != Z_STREAM_END)
		return WB_ERANGE;
	*outlen = (size_t)z->total_out;
	return WB_OK;
}

void wb__gzip_free(void **state)
{
	z_stream *z = *state;
	if (z) {
		deflateEnd(z);
		free(z);
	}
	*state = NULL;
}

/* gzip u->buf[0..len) into u->zbuf; *zlen its size. */
static int gzip_batch(wb__upload *u, size_t len, size_t *zlen)
{
	size_t bound = wb__gzip_bound(len);
	int rc;

	if (!bound)
		return wb__error(WB_EINVAL, "a batch of %zu bytes is too large to gzip", len);
	if (bound > u->zcap) {
		uint8_t *p = realloc(u->zbuf, bound);
		if (!p)
			return wb__error(WB_ENOMEM, "out of memory");
		u->zbuf = p;
		u->zcap = bound;
	}
	if ((rc = wb__gzip(&u->z, u->buf, len, u->zbuf, u->zcap, zlen)))
		return wb__error(rc == WB_ENOMEM ? WB_ENOMEM : WB_EINVAL, "gzip failed");
	return WB_OK;
}

int wb__upload_seek(wb__upload *u, uint64_t end, uint64_t last_seq)
{
	uint64_t off, at;
	int rc;

	rc = wb__runlog_find(u->fd, end, last_seq + 1, &off, &at);
	if (rc)
		return rc;
	if (off < end && at > last_seq + 1)
		return wb__error(WB_ESTATE, "the server has the run up to seq %llu but the run log starts at seq %llu",
				 (unsigned long long)last_seq, (unsigned long long)at);
	u->off = off;
	u->acked = last_seq;
	return WB_OK;
}

int wb__upload_send(wb__upload *u, uint64_t end, int64_t deadline)
{
	uint64_t first, last, server_last = 0, expected = 0, old_off = u->off, old_acked = u->acked;
	size_t len = 0, zlen = 0;
	int rc;

	rc = wb__runlog_read(u->fd, u->off, end, WB__UPLOAD_BATCH, &u->buf, &u->cap, &len, &first, &last);
	if (rc || len == 0)
		return rc;
	if ((rc = gzip_batch(u, len, &zlen)))
		return rc;
	rc = post_records(u->http, u->zbuf, zlen, deadline, &server_last, &expected, &u->should_stop);
	if (rc == WB__HTTP_GAP) {
		rc = wb__upload_seek(u, end, expected - 1);
	} else if (rc) {
		return rc;
	} else if (server_last >= last) {
		u->off += len;
		u->acked = server_last;
		return WB_OK;
	} else {
		/* The server applied only part of the batch: continue after its last. */
		rc = wb__upload_seek(u, end, server_last);
	}
	if (rc == WB_OK && u->off == old_off && u->acked == old_acked)
		/* Sending the same frames again would get the same answer. */
		return wb__error(WB_ESERVER, "the server accepts no records after seq %llu",
				 (unsigned long long)u->acked);
	return rc;
}
