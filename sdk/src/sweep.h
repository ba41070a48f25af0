/*
 * sweep.h — a run that is a trial of a sweep joins it by itself (sweep.c).
 *
 * `wb agent` starts the trainer with WB_SWEEP (entity/project/sweep),
 * WB_SWEEP_TRIAL (the trial's number) and WB_SWEEP_PARAMS (the trial's
 * parameters, a JSON object) in its environment; wb_run_init reads them,
 * sets every parameter as a config key and locks it, so the training code's
 * own defaults do not undo the sweep's choice.
 */
#ifndef WB_SWEEP_H
#define WB_SWEEP_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "wire.h"

typedef struct wb__sweep_join {
	cJSON *params;               /* WB_SWEEP_PARAMS parsed (a JSON object); NULL: not a trial */
	char id[WB__NAME_MAX + 1];   /* the sweep's id (WB_SWEEP's last part), "" when not given */
	int64_t trial;               /* WB_SWEEP_TRIAL, -1 when not given */
} wb__sweep_join;

/*
 * Read the trial's environment into *j. Not a trial (no WB_SWEEP_PARAMS):
 * WB_OK with j->params NULL. WB_EINVAL (with a message naming the variable
 * and what is wrong) when WB_SWEEP_PARAMS is not a JSON object whose leaves
 * are numbers, booleans or strings under valid config keys, or WB_SWEEP /
 * WB_SWEEP_TRIAL are malformed; WB_ENOMEM. On error *j holds nothing.
 */
WB__HIDDEN int wb__sweep_read(wb__sweep_join *j);

WB__HIDDEN void wb__sweep_free(wb__sweep_join *j);

/* Set each parameter of j as a locked config key of run (config.c,
 * wb__config_set_locked). WB_OK when j is not a trial. */
WB__HIDDEN int wb__sweep_apply(wb_run *run, const wb__sweep_join *j);

/* Add {"sweep":{"id":…,"trial":n}} to a run's metadata. 0, or -1 out of memory. */
WB__HIDDEN int wb__sweep_meta(cJSON *meta, const wb__sweep_join *j);

#endif /* WB_SWEEP_H */
