/*
 * artifact.h — artifacts inside libwb: what run.c (wb_run_save at finish) and
 * sync.c (finishing logged artifacts) need from artifact_*.c.
 *
 * Threads: wb__saves_finish from the thread that finishes the run;
 * wb__artifact_sync from the thread of wb_sync.
 */
#ifndef WB_ARTIFACT_H
#define WB_ARTIFACT_H

#include <stdint.h>

#include "wire.h"

typedef struct wb__saves wb__saves;

/* At wb_run_finish, before the FINISH record: stop the live-save thread, take
 * the last snapshots of WB_SAVE_END and WB_SAVE_LIVE files and log them
 * (waiting at most until deadline, mono ms), and free the saves. Upload
 * failures are warned about (the intent stays in the run log). Accepts a
 * run without saves. */
struct wb_run;
WB__HIDDEN void wb__saves_finish(struct wb_run *run, int64_t deadline);

/*
 * wb_sync's part: every ARTIFACT record of the run log fd (the frames
 * before end) without its ARTIFACT_DONE is uploaded and committed again
 * (the server returns the existing version when it already has it), each
 * file checked against the SHA-256 recorded in the log. *done receives the
 * artifacts committed. WB_OK, or the first error (the others are still
 * tried).
 */
WB__HIDDEN int wb__artifact_sync(int fd, uint64_t end, const char *base_url, const char *api_key,
				 const char *entity, const char *project, const char *run_id, int64_t deadline,
				 uint64_t *done);

#endif /* WB_ARTIFACT_H */
