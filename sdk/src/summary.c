/*
 * summary.c — what a run's summary shows: wb_summary_set_* (explicit
 * values) and wb_run_define_metric (a metric's step metric and which
 * aggregates its summary keeps). Each is one record pushed through the
 * run's ring like a metric, so the run log keeps the order in which the
 * trainer did things; the server materialises the summary from them.
 */
#include <string.h>

#include "error.h"
#include "json.h"
#include "run.h"
#include "util.h"
#include "wire_media.h"

static int summary_set(wb_run *run, const char *key, cJSON *value)
{
	cJSON *obj = NULL;
	int rc;

	if (!run || !key) {
		rc = wb__error(WB_EINVAL, "run and key must not be NULL");
		goto done;
	}
	if (!wb__key_valid(key, strnlen(key, WB__KEY_MAX + 1))) {
		rc = wb__error(WB_EINVAL, "summary key must be 1 to %u bytes without control characters, not starting with '_'",
			       WB__KEY_MAX);
		goto done;
	}
	if (run->mode == WB_MODE_DISABLED) {
		rc = WB_OK;
		goto done;
	}
	if (!value || !(obj = cJSON_CreateObject()) || !cJSON_AddItemToObject(obj, key, value)) {
		rc = wb__error(WB_ENOMEM, "out of memory");
		goto done;
	}
	value = NULL;
	rc = wb__run_push_json(run, WB__REC_SUMMARY, obj);
done:
	cJSON_Delete(value);
	cJSON_Delete(obj);
	return rc;
}

int wb_summary_set_double(wb_run *run, const char *key, double value)
{
	return summary_set(run, key, wb__json_double(value));
}

int wb_summary_set_string(wb_run *run, const char *key, const char *value)
{
	if (!value)
		return wb__error(WB_EINVAL, "summary value is NULL");
	return summary_set(run, key, cJSON_CreateString(value));
}

int wb_run_define_metric(wb_run *run, const char *key_or_glob, const char *step_metric, unsigned int summary)
{
	static const struct {
		unsigned int flag;
		const char *name;
	} kinds[] = {{WB_SUMMARY_LAST, "last"}, {WB_SUMMARY_MIN, "min"}, {WB_SUMMARY_MAX, "max"},
		     {WB_SUMMARY_MEAN, "mean"}, {WB_SUMMARY_NONE, "none"}};
	const unsigned int all = WB_SUMMARY_LAST | WB_SUMMARY_MIN | WB_SUMMARY_MAX | WB_SUMMARY_MEAN | WB_SUMMARY_NONE;
	cJSON *obj = NULL, *arr;
	const char *star;
	size_t len;
	int rc;

	if (!run || !key_or_glob)
		return wb__error(WB_EINVAL, "run and key must not be NULL");
	len = strnlen(key_or_glob, WB__KEY_MAX + 1);
	star = memchr(key_or_glob, '*', len);
	if (!wb__key_valid(key_or_glob, len) || (star && star != key_or_glob + len - 1))
		return wb__error(WB_EINVAL, "define_metric: a key, or a key prefix ending in a single '*'");
	if (step_metric && !wb__key_valid(step_metric, strnlen(step_metric, WB__KEY_MAX + 1)))
		return wb__error(WB_EINVAL, "define_metric: step_metric is not a valid metric key");
	if ((summary & ~all) || ((summary & WB_SUMMARY_NONE) && summary != WB_SUMMARY_NONE))
		return wb__error(WB_EINVAL, "define_metric: summary is an OR of WB_SUMMARY_*, and NONE stands alone");
	if (run->mode == WB_MODE_DISABLED)
		return WB_OK;
	obj = cJSON_CreateObject();
	if (!obj || !cJSON_AddStringToObject(obj, "key", key_or_glob) ||
	    !(step_metric ? cJSON_AddStringToObject(obj, "step_metric", step_metric)
			  : cJSON_AddNullToObject(obj, "step_metric")))
		goto nomem;
	if (summary) {
		if (!(arr = cJSON_AddArrayToObject(obj, "summary")))
			goto nomem;
		for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
			cJSON *s;
			if (!(summary & kinds[i].flag))
				continue;
			s = cJSON_CreateString(kinds[i].name);
			if (!s || !cJSON_AddItemToArray(arr, s)) {
				cJSON_Delete(s);
				goto nomem;
			}
		}
	}
	rc = wb__run_push_json(run, WB__REC_DEFINE, obj);
	cJSON_Delete(obj);
	return rc;
nomem:
	cJSON_Delete(obj);
	return wb__error(WB_ENOMEM, "out of memory");
}

