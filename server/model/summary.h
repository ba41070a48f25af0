/*
 * summary.h — the run summary, materialised from metric aggregates.
 *
 * A run's summary (schema/api.md) is, per metric, its last value; or, when
 * a DEFINE matching the key asked for min/max/mean, an object with those
 * (and "last" if asked). Explicit SUMMARY values replace computed ones. The
 * store recomputes it after every ingest job that touched metrics, defines
 * or explicit values, and keeps it as JSON text in runs.summary so that
 * reads, filters and sorts never aggregate.
 *
 * Threads: no shared state.
 */
#ifndef WB_SERVER_SUMMARY_H
#define WB_SERVER_SUMMARY_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "util/buf.h"

typedef struct wbs__key_stats {
	const char *key;
	uint64_t count;  /* points */
	uint64_t nvalid; /* points that are not NaN */
	double min, max, sum; /* over points that are not NaN */
	double last;
} wbs__key_stats;

/*
 * The WB_SUMMARY_* flags the DEFINE entries in defs (an array of
 * {"key","step_metric","summary"}; may be NULL) give key: an exact key wins
 * over a glob, a longer glob prefix over a shorter one; 0 if none matches.
 */
unsigned wbs__define_match(const cJSON *defs, const char *key);

/*
 * Append the summary object to out. keys[0..n) are the run's metrics
 * (derived "_" series excluded by the caller); defs as above; expl is the
 * object of explicit values (may be NULL).
 */
void wbs__summary_build(wbs__buf *out, const wbs__key_stats *keys, size_t n, const cJSON *defs, const cJSON *expl);

#endif /* WB_SERVER_SUMMARY_H */
