/*
 * series.h — the deterministic data the end-to-end tests log and then expect
 * back, and the comparison against the server's full-resolution export.
 */
#ifndef WB_TEST_SERIES_H
#define WB_TEST_SERIES_H

#include <stdint.h>

#include "harness.h"
#include "wb.h"

/* Value of metric k (0..WBT_KEYS-1) at step s. Covers NaN (with a payload),
 * +-Inf, -0.0, denormals and ordinary values. */
#define WBT_KEYS 3
extern const char *const wbt_keys[WBT_KEYS];
double wbt_value(int k, int64_t s);

/* Log steps [from, to) of the series with WB_STEP_AUTO (or explicit steps
 * when explicit != 0), one wb_log call per step with all keys. Returns the
 * first non-WB_OK code, or WB_OK. */
int wbt_log_series(wb_run *run, int64_t from, int64_t to, int explicit_steps);

/* Check that the server's export of every key of run (entity/project/id)
 * holds exactly steps [0, nsteps), each once, with bit-exact values.
 * Returns 0, or -1 with the first mismatch printed. */
int wbt_check_series(const wbt_server *s, const char *entity, const char *project, const char *run_id,
		     int64_t nsteps);

/* Fetch /api/v1/projects/E/P/runs/ID. */
cJSON *wbt_get_run(const wbt_server *s, const char *entity, const char *project, const char *run_id);

#endif
