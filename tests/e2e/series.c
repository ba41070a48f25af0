/* series.c — see series.h. */
#include "series.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const wbt_keys[WBT_KEYS] = {"train/loss", "train/acc", "edge"};

static double bits_double(uint64_t u)
{
	double d;
	memcpy(&d, &u, sizeof(d));
	return d;
}

static uint64_t double_bits(double d)
{
	uint64_t u;
	memcpy(&u, &d, sizeof(u));
	return u;
}

double wbt_value(int k, int64_t s)
{
	switch (k) {
	case 0: /* a float32 loss curve widened to double */
		return (double)(float)(2.0 * exp(-(double)s / 5000.0) + 0.05 + 0.01 * sin((double)s * 0.37));
	case 1:
		return (double)s / 1e4;
	default:
		switch (s % 8) {
		case 0: return NAN;
		case 1: return INFINITY;
		case 2: return -INFINITY;
		case 3: return -0.0;
		case 4: return 4.9e-324;
		case 5: return bits_double(UINT64_C(0x7ff80000deadbeef)); /* NaN with a payload */
		case 6: return 1.7976931348623157e308;
		default: return (double)s * 1e-3 - 7.5;
		}
	}
}

int wbt_log_series(wb_run *run, int64_t from, int64_t to, int explicit_steps)
{
	for (int64_t s = from; s < to; s++) {
		wb_metric m[WBT_KEYS];
		int rc;
		for (int k = 0; k < WBT_KEYS; k++) {
			m[k].key = wbt_keys[k];
			m[k].value = wbt_value(k, s);
		}
		rc = wb_log(run, m, WBT_KEYS, explicit_steps ? s : WB_STEP_AUTO);
		if (rc != WB_OK)
			return rc;
	}
	return WB_OK;
}

cJSON *wbt_get_run(const wbt_server *s, const char *entity, const char *project, const char *run_id)
{
	char path[512];
	snprintf(path, sizeof(path), "/api/v1/projects/%s/%s/runs/%s", entity, project, run_id);
	return wbt_get_json(s, path);
}

/* Percent-encode a metric key for a query string. */
static void query_escape(const char *in, char *out, size_t cap)
{
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)in; *p && o + 4 < cap; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		    *p == '_' || *p == '.')
			out[o++] = (char)*p;
		else
			o += (size_t)snprintf(out + o, cap - o, "%%%02X", *p);
	}
	out[o] = 0;
}

int wbt_check_series(const wbt_server *s, const char *entity, const char *project, const char *run_id,
		     int64_t nsteps)
{
	for (int k = 0; k < WBT_KEYS; k++) {
		char path[1024], ekey[800];
		cJSON *j, *steps, *bits;
		int64_t i = 0;

		query_escape(wbt_keys[k], ekey, sizeof(ekey));
		snprintf(path, sizeof(path), "/api/v1/projects/%s/%s/runs/%s/export?key=%s&format=json&bits=1", entity,
			 project, run_id, ekey);
		j = wbt_get_json(s, path);
		if (!j) {
			fprintf(stderr, "check: no export for %s\n", wbt_keys[k]);
			return -1;
		}
		steps = cJSON_GetObjectItem(j, "step");
		bits = cJSON_GetObjectItem(j, "bits");
		if (cJSON_GetArraySize(steps) != nsteps || cJSON_GetArraySize(bits) != nsteps) {
			fprintf(stderr, "check: %s has %d steps and %d values, want %" PRId64 "\n", wbt_keys[k],
				cJSON_GetArraySize(steps), cJSON_GetArraySize(bits), nsteps);
			cJSON_Delete(j);
			return -1;
		}
		for (cJSON *st = steps->child, *b = bits->child; st && b; st = st->next, b = b->next, i++) {
			uint64_t want = double_bits(wbt_value(k, i));
			uint64_t got = cJSON_IsString(b) ? strtoull(b->valuestring, NULL, 16) : 0;
			if ((int64_t)st->valuedouble != i || got != want) {
				fprintf(stderr,
					"check: %s point %" PRId64 ": step %.0f bits %s, want step %" PRId64
					" bits %016" PRIx64 "\n",
					wbt_keys[k], i, st->valuedouble, cJSON_IsString(b) ? b->valuestring : "?", i,
					want);
				cJSON_Delete(j);
				return -1;
			}
		}
		cJSON_Delete(j);
	}
	return 0;
}
