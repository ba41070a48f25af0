/*
 * notify.c — the notifier thread (notify.h).
 *
 * Why a queue in the database. An event (a run finished, an alert, a rule)
 * is written as a delivery row by a trigger in the very transaction that
 * changed the run (schema/migrations/004_notify.sql), so it is exactly as
 * durable as the change: a server killed between the commit and the HTTP
 * request sends it after the restart. Ingest never waits for Slack: the
 * only thing on the ingest path is that INSERT.
 *
 * The loop: every `poll` seconds (or at once when the last look was full)
 * fire stall rules, read the due pending rows, and send each with libcurl
 * (a plain POST of application/json, bounded by `timeout`). Outcomes:
 *   2xx                 delivered
 *   429                 retry after Retry-After (seconds or an HTTP date),
 *                       at least the backoff; later rows for the same
 *                       webhook wait too, without counting an attempt
 *   5xx, 408, transport retry with exponential backoff (backoff * 2^n, at
 *                       most backoff_max) until max_attempts, then failed
 *   other 4xx           failed: the receiver refused it for good (Slack's
 *                       404 no_service, 410 channel gone, 400 bad payload)
 * Each outcome is one small job on the store's writer.
 *
 * The URL is a secret: it is read from the store, handed to libcurl, and
 * never logged or written into an error (the delivery log holds libcurl's
 * static error text, or "http 503"). Logs name deliveries and webhooks by id.
 *
 * Where it may connect: a webhook URL is given by any user of a project,
 * so by default the socket is refused (CURLOPT_OPENSOCKETFUNCTION, after
 * DNS, so a name that resolves inward is caught too) when the address is
 * loopback, private (10/8, 172.16/12, 192.168/16, fc00::/7), link-local
 * (169.254/16 — cloud metadata —, fe80::/10), unspecified or CGNAT: the
 * server is not a proxy into its own network. `--webhook-private` allows
 * them (an on-prem Mattermost, the tests' loopback receiver). The check
 * sees the address libcurl connects to, so proxies from the environment
 * (http_proxy, https_proxy, all_proxy) are ignored: through one, every
 * delivery would connect to the proxy, the check would pass, and the proxy
 * would reach the private address for us. An operator who wants webhooks
 * to go through a proxy names it (`--webhook-proxy`); the proxy then sees
 * the destinations and deciding which are allowed is its job, so the
 * socket check is off (it would only see the proxy, often on loopback).
 *
 * Who may still hear of a run. A user's webhook (every run that user
 * creates) speaks for that user, so it is delivered only while the owner
 * is active and can read the run's project, judged when it is sent, not
 * when the event was queued: a user removed from a project, or deactivated,
 * hears nothing more of it, including what was already queued. Such a
 * delivery is cancelled with the reason in the delivery log.
 *
 * One delivery at a time: Slack limits a webhook to about one message a
 * second anyway, and a slow receiver delays the others by at most
 * `timeout`. stop() aborts an in-flight request through the progress
 * callback; the row stays pending and is sent after the next start.
 */
#include "notify/notify.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "notify/slack.h"
#include "wb.h"
#include "store/store_acct.h"
#include "store/store_notify.h"
#include "util/log.h"

#define DUE_BATCH 16
#define HOLDS 64

struct wbs__notifier {
	wbs__notify_opts o;
	char *base_url;
	char *proxy; /* o.proxy copied, or NULL */
	pthread_t thread;
	int started;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	_Atomic int stopping;
	CURL *curl;
	int refused; /* the last request's address was refused (private) */
	/* webhooks told to wait (429): id -> not before (wall seconds) */
	struct {
		int64_t id;
		double until;
	} hold[HOLDS];
	/* deliveries by outcome and HTTP requests made, for /metrics (this
	 * notifier's own: two servers in one process count apart) */
	atomic_uint_fast64_t c_delivered, c_retried, c_failed, c_rate_limited, c_attempts;
};

static double wall(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void wbs__webhook_hint(const char *url, char out[128])
{
	const char *h = strstr(url, "://");
	size_t hl, n = strlen(url);

	h = h ? h + 3 : url;
	hl = strcspn(h, "/?#");
	if (hl > 80)
		hl = 80;
	snprintf(out, 128, "%.*s…%s", (int)hl, h, n >= 4 ? url + n - 4 : "");
}

void wbs__notify_render_metrics(wbs__buf *b, wbs__notifier *nt, wbs__store *store)
{
	uint64_t pending = 0, fires = 0;
	wbs__err e = {0};

	wbs__buf_puts(b, "# HELP wb_webhook_deliveries_total Webhook deliveries by final or retry outcome.\n"
			 "# TYPE wb_webhook_deliveries_total counter\n");
	wbs__buf_printf(b, "wb_webhook_deliveries_total{outcome=\"delivered\"} %llu\n",
			(unsigned long long)(nt ? atomic_load(&nt->c_delivered) : 0));
	wbs__buf_printf(b, "wb_webhook_deliveries_total{outcome=\"retry\"} %llu\n",
			(unsigned long long)(nt ? atomic_load(&nt->c_retried) : 0));
	wbs__buf_printf(b, "wb_webhook_deliveries_total{outcome=\"rate_limited\"} %llu\n",
			(unsigned long long)(nt ? atomic_load(&nt->c_rate_limited) : 0));
	wbs__buf_printf(b, "wb_webhook_deliveries_total{outcome=\"failed\"} %llu\n",
			(unsigned long long)(nt ? atomic_load(&nt->c_failed) : 0));
	wbs__buf_puts(b, "# HELP wb_webhook_attempts_total HTTP requests made to webhooks.\n"
			 "# TYPE wb_webhook_attempts_total counter\n");
	wbs__buf_printf(b, "wb_webhook_attempts_total %llu\n", (unsigned long long)(nt ? atomic_load(&nt->c_attempts) : 0));
	if (store && wbs__store_notify_counts(store, &pending, &fires, &e) == WBS__ST_OK) {
		wbs__buf_puts(b, "# HELP wb_notify_rule_fires_total Threshold and stall rules fired, as stored.\n"
				 "# TYPE wb_notify_rule_fires_total counter\n");
		wbs__buf_printf(b, "wb_notify_rule_fires_total %llu\n", (unsigned long long)fires);
		wbs__buf_puts(b, "# HELP wb_webhook_queue_pending Webhook deliveries waiting to be sent.\n"
				 "# TYPE wb_webhook_queue_pending gauge\n");
		wbs__buf_printf(b, "wb_webhook_queue_pending %llu\n", (unsigned long long)pending);
	}
}

/* ---- one request ---- */

struct resp {
	double retry_after; /* seconds; NaN when absent */
};

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct resp *r = arg;
	size_t len = size * n;
	char v[128];

	if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
		size_t k = len - 12;
		char *end;
		double s;
		if (k >= sizeof(v))
			k = sizeof(v) - 1;
		memcpy(v, p + 12, k);
		v[k] = '\0';
		while (k && (v[k - 1] == '\r' || v[k - 1] == '\n' || v[k - 1] == ' '))
			v[--k] = '\0';
		s = strtod(v, &end);
		if (end != v && *end == '\0' && isfinite(s) && s >= 0) {
			r->retry_after = s;
		} else {
			time_t t = curl_getdate(v + strspn(v, " "), NULL);
			if (t != (time_t)-1)
				r->retry_after = fmax(0, (double)t - wall());
		}
	}
	return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n; /* the answer ("ok") is not needed */
}

/* 1 if addr is inside the server's own networks (see the essay). */
static int addr_private(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		uint32_t a = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);
		return (a >> 24) == 0 || (a >> 24) == 10 || (a >> 24) == 127 || (a >> 20) == 0xac1 /* 172.16/12 */ ||
		       (a >> 16) == 0xc0a8 || (a >> 16) == 0xa9fe || (a >> 22) == (100u << 2 | 1u) /* 100.64/10 */;
	}
	if (sa->sa_family == AF_INET6) {
		const uint8_t *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		static const uint8_t zero[15];
		if (memcmp(b, zero, 15) == 0)
			return 1; /* :: and ::1 */
		if ((b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80))
			return 1;
		if (memcmp(b, zero, 10) == 0 && b[10] == 0xff && b[11] == 0xff) { /* ::ffff:a.b.c.d */
			struct sockaddr_in v4;
			memset(&v4, 0, sizeof(v4));
			v4.sin_family = AF_INET;
			memcpy(&v4.sin_addr, b + 12, 4);
			return addr_private((const struct sockaddr *)&v4);
		}
		return 0;
	}
	return 1; /* unix sockets and the like: never */
}

static curl_socket_t on_open(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	wbs__notifier *nt = arg;
	(void)purpose;
	if (!nt->o.allow_private && !nt->proxy && addr_private(&a->addr)) {
		nt->refused = 1;
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static int on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	wbs__notifier *nt = arg;
	(void)a, (void)b, (void)c, (void)d;
	return atomic_load(&nt->stopping) ? 1 : 0;
}

/* POST body to url. Returns the HTTP status (0 on a transport error, with *cerr). */
static long post(wbs__notifier *nt, const char *url, const char *body, size_t len, struct resp *r, CURLcode *cerr)
{
	struct curl_slist *h = NULL;
	long status = 0;
	CURL *c = nt->curl;

	r->retry_after = NAN;
	curl_easy_reset(c);
	h = curl_slist_append(h, "Content-Type: application/json; charset=utf-8");
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "wb-notify/" WB_VERSION);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(nt->o.timeout * 1000));
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(fmin(nt->o.timeout, 5) * 1000));
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, nt);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, on_open);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, nt);
	/* only the proxy configured for webhooks, never one from the environment (see the essay) */
	curl_easy_setopt(c, CURLOPT_PROXY, nt->proxy ? nt->proxy : "");
	if (!nt->proxy)
		curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	nt->refused = 0;
	*cerr = curl_easy_perform(c);
	if (*cerr == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	return status;
}

static double hold_until(wbs__notifier *nt, int64_t webhook)
{
	for (int i = 0; i < HOLDS; i++)
		if (nt->hold[i].id == webhook)
			return nt->hold[i].until;
	return 0;
}

static void hold_set(wbs__notifier *nt, int64_t webhook, double until)
{
	int slot = 0;
	for (int i = 0; i < HOLDS; i++) {
		if (nt->hold[i].id == webhook) {
			slot = i;
			break;
		}
		if (nt->hold[i].until < nt->hold[slot].until)
			slot = i;
	}
	nt->hold[slot].id = webhook;
	nt->hold[slot].until = until;
}

static void record(wbs__notifier *nt, const wbs__notify_due *d, const char *state, int64_t attempts, int status,
		   const char *error, double next_at, double last_at, double done_at)
{
	wbs__err e = {0};
	if (wbs__store_notify_result(nt->o.store, d->id, state, attempts, status, error, next_at, last_at, done_at, &e))
		wbs__log(WBS__LOG_WARN, "cannot record a webhook delivery", "delivery=%lld error=%s", (long long)d->id,
			 e.msg);
}

/* 1 if the owner of a user's webhook may still read d's run (see the essay), 0 if not, -1 on a store error. */
static int owner_may_read(wbs__notifier *nt, const wbs__notify_due *d)
{
	wbs__access a;
	wbs__err e = {0};

	if (!d->owner_id)
		return 1;
	if (!d->owner_active)
		return 0;
	if (wbs__store_access(nt->o.store, d->owner_id, d->entity, d->project, &a, &e)) {
		wbs__log(WBS__LOG_WARN, "cannot check a webhook owner's access", "delivery=%lld error=\"%s\"",
			 (long long)d->id, e.msg);
		return -1;
	}
	return a.role >= WBS__ROLE_VIEWER || a.is_public;
}

static void deliver(wbs__notifier *nt, const wbs__notify_due *d)
{
	int may;

	wbs__notify_msg m;
	wbs__buf body;
	struct resp r;
	CURLcode ce = CURLE_OK;
	double now = wall(), held, backoff;
	int64_t attempts = d->attempts + 1;
	char why[96];
	long status;

	if (d->cancelled || !d->url || !*d->url) {
		record(nt, d, "cancelled", d->attempts, 0, "the webhook was deleted", now, NAN, now);
		return;
	}
	if ((may = owner_may_read(nt, d)) <= 0) {
		if (may == 0) {
			record(nt, d, "cancelled", d->attempts, 0, "the webhook's owner can no longer read this run", now,
			       NAN, now);
			wbs__log(WBS__LOG_INFO, "webhook delivery withheld", "delivery=%lld webhook=%lld reason=no_access",
				 (long long)d->id, (long long)d->webhook_id);
		} else {
			record(nt, d, "pending", d->attempts, 0, "cannot check the owner's access", now + nt->o.backoff,
			       NAN, NAN);
		}
		return;
	}
	if ((held = hold_until(nt, d->webhook_id)) > now) {
		/* The receiver asked this webhook to wait: defer without an attempt. */
		record(nt, d, "pending", d->attempts, 0, "waiting for Retry-After", held, NAN, NAN);
		return;
	}
	memset(&m, 0, sizeof(m));
	m.event = d->event;
	m.base_url = nt->base_url;
	m.entity = d->entity;
	m.project = d->project;
	m.run_id = d->run_id;
	m.run_name = d->run_name;
	m.state = d->state;
	m.has_exit_code = d->has_exit_code;
	m.exit_code = d->exit_code;
	m.summary = d->summary;
	m.alert_level = d->alert_level;
	m.alert_title = d->alert_title;
	m.alert_text = d->alert_text;
	m.rule_text = d->rule_text;
	m.rule_value = d->rule_value;
	wbs__buf_init(&body, 256 * 1024);
	wbs__slack_render(&body, &m);
	if (body.err) {
		record(nt, d, "failed", attempts, 0, "message too large", now, now, now);
		atomic_fetch_add(&nt->c_failed, 1);
		wbs__buf_free(&body);
		return;
	}
	atomic_fetch_add(&nt->c_attempts, 1);
	status = post(nt, d->url, body.p, body.len, &r, &ce);
	wbs__buf_free(&body);
	if (atomic_load(&nt->stopping) && status == 0)
		return; /* aborted by stop(): stays pending, sent after the restart */
	now = wall();
	backoff = fmin(nt->o.backoff * pow(2, (double)(attempts - 1)), nt->o.backoff_max);
	if (status >= 200 && status < 300) {
		record(nt, d, "delivered", attempts, (int)status, NULL, now, now, now);
		atomic_fetch_add(&nt->c_delivered, 1);
		wbs__log(WBS__LOG_INFO, "webhook delivered", "delivery=%lld webhook=%lld event=%s attempts=%lld",
			 (long long)d->id, (long long)d->webhook_id, d->event, (long long)attempts);
		return;
	}
	if (nt->refused) {
		/* Not a transient error: the address will stay private. */
		record(nt, d, "failed", attempts, 0, "the webhook's address is private (see --webhook-private)", now, now,
		       now);
		atomic_fetch_add(&nt->c_failed, 1);
		wbs__log(WBS__LOG_WARN, "webhook address refused", "delivery=%lld webhook=%lld", (long long)d->id,
			 (long long)d->webhook_id);
		return;
	}
	if (status == 0)
		snprintf(why, sizeof(why), "%s", curl_easy_strerror(ce)); /* static text, never the URL */
	else
		snprintf(why, sizeof(why), "http %ld", status);
	if (status == 429) {
		double wait = isnan(r.retry_after) ? backoff : fmin(fmax(r.retry_after, 0), nt->o.backoff_max);
		hold_set(nt, d->webhook_id, now + wait);
		atomic_fetch_add(&nt->c_rate_limited, 1);
		if (attempts < nt->o.max_attempts) {
			record(nt, d, "pending", attempts, (int)status, why, now + wait, now, NAN);
			wbs__log(WBS__LOG_WARN, "webhook rate limited", "delivery=%lld webhook=%lld retry_after=%g",
				 (long long)d->id, (long long)d->webhook_id, wait);
			return;
		}
	} else if ((status == 0 || status == 408 || status >= 500) && attempts < nt->o.max_attempts) {
		record(nt, d, "pending", attempts, (int)status, why, now + backoff, now, NAN);
		atomic_fetch_add(&nt->c_retried, 1);
		wbs__log(WBS__LOG_WARN, "webhook delivery failed, will retry",
			 "delivery=%lld webhook=%lld error=\"%s\" retry_in=%g", (long long)d->id, (long long)d->webhook_id,
			 why, backoff);
		return;
	}
	record(nt, d, "failed", attempts, (int)status, why, now, now, now);
	atomic_fetch_add(&nt->c_failed, 1);
	wbs__log(WBS__LOG_WARN, "webhook delivery failed", "delivery=%lld webhook=%lld error=\"%s\" attempts=%lld",
		 (long long)d->id, (long long)d->webhook_id, why, (long long)attempts);
}

static void *notify_main(void *arg)
{
	wbs__notifier *nt = arg;
	double next_stall = 0;

	while (!atomic_load(&nt->stopping)) {
		wbs__notify_due *due = NULL;
		size_t n = 0;
		wbs__err e = {0};
		double now = wall();
		struct timespec until;

		if (now >= next_stall) {
			uint64_t fired = 0;
			if (wbs__store_notify_stall(nt->o.store, now, &fired, &e) != WBS__ST_OK)
				wbs__log(WBS__LOG_WARN, "cannot check stall rules", "error=\"%s\"", e.msg);
			next_stall = now + 1;
		}
		if (wbs__store_notify_due(nt->o.store, now, DUE_BATCH, &due, &n, &e) != WBS__ST_OK && e.st)
			wbs__log(WBS__LOG_WARN, "cannot read the webhook queue", "error=\"%s\"", e.msg);
		for (size_t i = 0; i < n && !atomic_load(&nt->stopping); i++)
			deliver(nt, &due[i]);
		wbs__notify_due_free(due, n);
		if (n == DUE_BATCH)
			continue;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += (long)(nt->o.poll * 1e9);
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		pthread_mutex_lock(&nt->mu);
		if (!atomic_load(&nt->stopping))
			pthread_cond_timedwait(&nt->cond, &nt->mu, &until);
		pthread_mutex_unlock(&nt->mu);
	}
	return NULL;
}

int wbs__notify_start(wbs__notifier **out, const wbs__notify_opts *o, char *err, size_t errlen)
{
	wbs__notifier *nt;
	pthread_condattr_t ca;

	*out = NULL;
	if (!(nt = calloc(1, sizeof(*nt)))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	nt->o = *o;
	if (!(nt->o.backoff > 0))
		nt->o.backoff = 2;
	if (!(nt->o.backoff_max > 0))
		nt->o.backoff_max = 3600;
	if (nt->o.max_attempts <= 0)
		nt->o.max_attempts = 12;
	if (!(nt->o.timeout > 0))
		nt->o.timeout = 10;
	if (!(nt->o.poll > 0))
		nt->o.poll = 0.1;
	pthread_mutex_init(&nt->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&nt->cond, &ca);
	pthread_condattr_destroy(&ca);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	nt->base_url = strdup(o->base_url ? o->base_url : "");
	nt->proxy = o->proxy && o->proxy[0] ? strdup(o->proxy) : NULL;
	nt->o.proxy = NULL; /* nt->proxy is the copy */
	nt->curl = curl_easy_init();
	if (!nt->base_url || !nt->curl || (o->proxy && o->proxy[0] && !nt->proxy)) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	{
		size_t bl = strlen(nt->base_url);
		while (bl && nt->base_url[bl - 1] == '/')
			nt->base_url[--bl] = '\0';
	}
	if (pthread_create(&nt->thread, NULL, notify_main, nt)) {
		snprintf(err, errlen, "cannot start the notifier thread");
		goto fail;
	}
	nt->started = 1;
	*out = nt;
	return 0;
fail:
	wbs__notify_stop(nt);
	return -1;
}

void wbs__notify_stop(wbs__notifier *nt)
{
	if (!nt)
		return;
	pthread_mutex_lock(&nt->mu);
	atomic_store(&nt->stopping, 1);
	pthread_cond_signal(&nt->cond);
	pthread_mutex_unlock(&nt->mu);
	if (nt->started)
		pthread_join(nt->thread, NULL);
	curl_easy_cleanup(nt->curl);
	curl_global_cleanup();
	pthread_mutex_destroy(&nt->mu);
	pthread_cond_destroy(&nt->cond);
	free(nt->base_url);
	free(nt->proxy);
	free(nt);
}
