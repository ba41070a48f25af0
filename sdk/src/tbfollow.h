/*
 * tbfollow.h — the thread behind wb_run_follow_tensorboard (tbfollow.c).
 */
#ifndef WB_TBFOLLOW_H
#define WB_TBFOLLOW_H

#include "wire.h"

struct wb__tbfollow;

/* Stop following (one last pass first) and free it; nothing if the run does not follow.
 * Called by wb_run_finish before FINISH and when a run is freed. */
WB__HIDDEN void wb__tbfollow_stop(wb_run *run);

#endif /* WB_TBFOLLOW_H */
