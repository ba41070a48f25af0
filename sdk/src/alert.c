/*
 * alert.c — wb_run_alert: an ALERT record (schema/wire.md, type 15) through the
 * run log, so an alert survives an outage like any other record, and a
 * per-title minimum interval so that an alert raised in a training loop
 * reaches the channel once per interval, not once per step.
 *
 * The rate state is a small table per run (title hash -> time last sent),
 * made on first use and guarded by its own mutex: wb_run_alert is rare and
 * never on the hot path. The table holds WB__ALERT_TITLES titles; when it
 * is full the title sent longest ago is forgotten (its interval is
 * likely over anyway).
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "json.h"
#include "run.h"
#include "util.h"

#define WB__ALERT_TITLES 128
#define WB__ALERT_TITLE_MAX 200u
#define WB__ALERT_TEXT_MAX 3000u

struct wb__alerts {
	pthread_mutex_t mu;
	double interval; /* seconds */
	size_t n;
	struct {
		uint64_t hash;
		double last; /* monotonic seconds */
	} t[WB__ALERT_TITLES];
	_Atomic uint64_t suppressed;
};

void wb__alerts_free(struct wb__alerts *a)
{
	if (!a)
		return;
	pthread_mutex_destroy(&a->mu);
	free(a);
}

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The run's alert state, made on first use (any thread). NULL when out of memory. */
static struct wb__alerts *alerts_get(wb_run *run)
{
	struct wb__alerts *a = atomic_load(&run->alerts), *expect = NULL;
	const char *env;
	char *end;

	if (a)
		return a;
	if (!(a = calloc(1, sizeof(*a))))
		return NULL;
	pthread_mutex_init(&a->mu, NULL);
	a->interval = WB_ALERT_INTERVAL_DEFAULT;
	if ((env = getenv("WB_ALERT_INTERVAL_S")) && *env) {
		double v = strtod(env, &end);
		if (!*end && isfinite(v) && v >= 0)
			a->interval = v;
	}
	if (!atomic_compare_exchange_strong(&run->alerts, &expect, a)) {
		wb__alerts_free(a);
		return expect; /* another thread made it first */
	}
	return a;
}

/* FNV-1a. */
static uint64_t title_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* 1 if an alert with this title may be sent now (and remember it), 0 if it is too soon. */
static int alerts_allow(struct wb__alerts *a, const char *title)
{
	uint64_t h = title_hash(title);
	double now = mono_s();
	size_t oldest = 0;
	int ok = 1;

	pthread_mutex_lock(&a->mu);
	for (size_t i = 0; i < a->n; i++) {
		if (a->t[i].hash == h) {
			if (now - a->t[i].last < a->interval)
				ok = 0;
			else
				a->t[i].last = now;
			goto done;
		}
		if (a->t[i].last < a->t[oldest].last)
			oldest = i;
	}
	if (a->n < WB__ALERT_TITLES)
		oldest = a->n++;
	a->t[oldest].hash = h;
	a->t[oldest].last = now;
done:
	pthread_mutex_unlock(&a->mu);
	if (!ok)
		atomic_fetch_add(&a->suppressed, 1);
	return ok;
}

int wb_run_alert(wb_run *run, wb_alert_level level, const char *title, const char *text)
{
	static const char *const names[] = {"info", "warn", "error"};
	struct wb__alerts *a;
	struct timespec ts;
	cJSON *obj = NULL;
	size_t tn, xn;
	int rc;

	if (!run || !title)
		return wb__error(WB_EINVAL, "run and title must not be NULL");
	if ((int)level < WB_ALERT_INFO || (int)level > WB_ALERT_ERROR)
		return wb__error(WB_EINVAL, "alert level must be WB_ALERT_INFO, WB_ALERT_WARN or WB_ALERT_ERROR");
	tn = strnlen(title, WB__ALERT_TITLE_MAX + 1);
	if (tn == 0 || tn > WB__ALERT_TITLE_MAX)
		return wb__error(WB_EINVAL, "alert title must be 1 to %u bytes", WB__ALERT_TITLE_MAX);
	xn = text ? strnlen(text, WB__ALERT_TEXT_MAX + 1) : 0;
	if (xn > WB__ALERT_TEXT_MAX)
		return wb__error(WB_EINVAL, "alert text must be at most %u bytes", WB__ALERT_TEXT_MAX);
	if (run->mode == WB_MODE_DISABLED)
		return WB_OK;
	if (!(a = alerts_get(run)))
		return wb__error(WB_ENOMEM, "out of memory");
	if (!alerts_allow(a, title))
		return WB_OK;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (!(obj = cJSON_CreateObject()) || !cJSON_AddStringToObject(obj, "level", names[level]) ||
	    !cJSON_AddStringToObject(obj, "title", title) || !cJSON_AddStringToObject(obj, "text", text ? text : "") ||
	    !cJSON_AddItemToObject(obj, "time", wb__json_double((double)ts.tv_sec + (double)ts.tv_nsec * 1e-9))) {
		rc = wb__error(WB_ENOMEM, "out of memory");
		goto done;
	}
	rc = wb__run_push_json(run, WB__REC_ALERT, obj);
done:
	cJSON_Delete(obj);
	return rc;
}

int wb_run_set_alert_interval(wb_run *run, double seconds)
{
	struct wb__alerts *a;

	if (!run || !isfinite(seconds) || seconds < 0)
		return wb__error(WB_EINVAL, "the alert interval is a number of seconds >= 0");
	if (!(a = alerts_get(run)))
		return wb__error(WB_ENOMEM, "out of memory");
	pthread_mutex_lock(&a->mu);
	a->interval = seconds;
	pthread_mutex_unlock(&a->mu);
	return WB_OK;
}

uint64_t wb_run_alerts_suppressed(const wb_run *run)
{
	struct wb__alerts *a = run ? atomic_load(&((wb_run *)run)->alerts) : NULL;
	return a ? atomic_load(&a->suppressed) : 0;
}
