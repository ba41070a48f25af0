/*
 * sysmon.h — the system-metrics sampler: a background thread that reads
 * /proc (and NVML, when libnvidia-ml.so.1 can be loaded) every period and
 * pushes one SYSTEM record (schema/wire.md) through the run's ring.
 *
 * Threads: wb__sysmon_start/stop from the thread that owns the run (wb_run_init,
 * wb_run_finish); the sampler thread only reads /proc and pushes records. The
 * parsers are pure functions of text, for tests.
 */
#ifndef WB_SYSMON_H
#define WB_SYSMON_H

#include <pthread.h>
#include <stdint.h>

#include "wire.h"

#define WB__SYSMON_MAX_METRICS 64u

struct wb_run;

typedef struct wb__sysmon {
	struct wb_run *run;
	unsigned int period_ms;
	int64_t start_ms;         /* mono ms at wb_run_init: x = ms since then */
	pthread_t thread;
	int started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;                 /* guarded by mu */
} wb__sysmon;

/* Start sampling every period_ms (> 0) into run's ring, x measured from
 * start_ms. WB_OK or WB_ENOMEM. */
WB__HIDDEN int wb__sysmon_start(wb__sysmon *m, struct wb_run *run, unsigned int period_ms, int64_t start_ms);

/* Stop and join the sampler (no record is pushed after it returns). Safe on
 * a sampler that never started. */
WB__HIDDEN void wb__sysmon_stop(wb__sysmon *m);

/* /proc/stat: the aggregate "cpu" line as busy and total jiffies. 0 or -1. */
WB__HIDDEN int wb__sysmon_parse_stat(const char *text, uint64_t *busy, uint64_t *total);
/* /proc/self/stat: utime + stime in ticks, and rss in pages. 0 or -1. */
WB__HIDDEN int wb__sysmon_parse_self_stat(const char *text, uint64_t *ticks, uint64_t *rss_pages);
/* /proc/meminfo: MemTotal and MemAvailable in bytes. 0 or -1. */
WB__HIDDEN int wb__sysmon_parse_meminfo(const char *text, uint64_t *total, uint64_t *avail);
/* /proc/net/dev: received and sent bytes summed over every interface but lo. 0 or -1. */
WB__HIDDEN int wb__sysmon_parse_netdev(const char *text, uint64_t *rx, uint64_t *tx);
/* /proc/diskstats: bytes read and written, summed over the devices for
 * which is_disk(name) is true (whole disks, not partitions). 0 or -1. */
WB__HIDDEN int wb__sysmon_parse_diskstats(const char *text, int (*is_disk)(const char *name), uint64_t *rd,
					  uint64_t *wr);
/* /proc/loadavg: the 1-minute load. 0 or -1. */
WB__HIDDEN int wb__sysmon_parse_loadavg(const char *text, double *load1);

#endif /* WB_SYSMON_H */
