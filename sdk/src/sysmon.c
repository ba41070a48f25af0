/*
 * sysmon.c — system metrics, sampled on a thread of their own.
 *
 * Every period the sampler reads a handful of small /proc files, turns
 * counters into rates against the previous sample, and pushes one SYSTEM
 * record (the METRICS layout with x = milliseconds since wb_run_init instead of
 * a step) into the run's ring, the same way wb_run_log does: the trainer's
 * threads never see it, no lock is held across the reads, and a full ring
 * drops the sample like any record.
 *
 * Keys (all under "system/", which user metrics may not use):
 *   cpu                  system CPU busy, percent of all CPUs
 *   proc.cpu             this process, percent of one CPU (may exceed 100)
 *   proc.rss             this process's resident memory, bytes
 *   memory.used          MemTotal - MemAvailable, bytes
 *   memory.available     MemAvailable, bytes
 *   disk.read, disk.write   bytes per second over whole disks
 *   net.rx, net.tx          bytes per second over every interface but lo
 *   load1                1-minute load average
 *   gpu.<i>.util         NVML GPU utilisation, percent
 *   gpu.<i>.memory.used  NVML memory used, bytes
 *
 * NVML is loaded with dlopen at start: no build or run dependency on the
 * NVIDIA driver, and a machine without it just has no gpu keys. The run's
 * host is recorded once in its metadata (a run is on one host), so the
 * records carry no host tag of their own.
 */
#include "sysmon.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "run.h"
#include "util.h"

#define PROC_MAX 65536u

/* ---- parsers ---- */

int wb__sysmon_parse_stat(const char *text, uint64_t *busy, uint64_t *total)
{
	unsigned long long v[10] = {0};
	int n;

	if (strncmp(text, "cpu ", 4) != 0)
		return -1;
	n = sscanf(text + 4, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
		   &v[5], &v[6], &v[7], &v[8], &v[9]);
	if (n < 4)
		return -1;
	/* user nice system idle iowait irq softirq steal guest guest_nice;
	 * guest time is already counted in user and nice. */
	*total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
	*busy = *total - v[3] - v[4];
	return 0;
}

int wb__sysmon_parse_self_stat(const char *text, uint64_t *ticks, uint64_t *rss_pages)
{
	const char *p = strrchr(text, ')'); /* comm may hold spaces and parentheses */
	unsigned long long ut, st, rss;

	if (!p)
		return -1;
	/* After ") ": state(3) ppid pgrp session tty tpgid flags minflt cminflt
	 * majflt cmajflt utime(14) stime(15) cutime cstime priority nice
	 * num_threads itrealvalue starttime vsize rss(24). */
	if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %*u %*u %llu",
		   &ut, &st, &rss) != 3)
		return -1;
	*ticks = ut + st;
	*rss_pages = rss;
	return 0;
}

/* The number after "key:" in a "key: N kB" style file. */
static int kv_u64(const char *text, const char *key, uint64_t *out)
{
	size_t kl = strlen(key);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		unsigned long long v;
		if (strncmp(p, key, kl) == 0 && p[kl] == ':' && sscanf(p + kl + 1, "%llu", &v) == 1) {
			*out = v;
			return 0;
		}
	}
	return -1;
}

int wb__sysmon_parse_meminfo(const char *text, uint64_t *total, uint64_t *avail)
{
	if (kv_u64(text, "MemTotal", total) || kv_u64(text, "MemAvailable", avail))
		return -1;
	*total *= 1024;
	*avail *= 1024;
	return 0;
}

int wb__sysmon_parse_netdev(const char *text, uint64_t *rx, uint64_t *tx)
{
	int any = 0;

	*rx = *tx = 0;
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		const char *colon = strchr(p, ':'), *eol = strchr(p, '\n');
		char name[64];
		unsigned long long r, t;
		size_t n;

		if (!colon || (eol && colon > eol))
			continue;
		while (*p == ' ')
			p++;
		n = (size_t)(colon - p);
		if (n == 0 || n >= sizeof name)
			continue;
		memcpy(name, p, n);
		name[n] = '\0';
		/* rx: bytes packets errs drop fifo frame compressed multicast, then tx: bytes */
		if (sscanf(colon + 1, "%llu %*u %*u %*u %*u %*u %*u %*u %llu", &r, &t) != 2)
			continue;
		any = 1;
		if (strcmp(name, "lo") == 0)
			continue;
		*rx += r;
		*tx += t;
	}
	return any ? 0 : -1;
}

int wb__sysmon_parse_diskstats(const char *text, int (*is_disk)(const char *name), uint64_t *rd, uint64_t *wr)
{
	int any = 0;

	*rd = *wr = 0;
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		char name[64];
		unsigned long long rs, ws;

		/* major minor name reads merged sectors_read ms writes merged sectors_written */
		if (sscanf(p, " %*u %*u %63s %*u %*u %llu %*u %*u %*u %llu", name, &rs, &ws) != 3)
			continue;
		any = 1;
		if (is_disk && !is_disk(name))
			continue;
		*rd += rs * 512;
		*wr += ws * 512;
	}
	return any ? 0 : -1;
}

int wb__sysmon_parse_loadavg(const char *text, double *load1)
{
	return sscanf(text, "%lf", load1) == 1 ? 0 : -1;
}

/* ---- reading ---- */

/* Read a small /proc file into buf (NUL-terminated). 0 or -1. */
static int read_proc(const char *path, char *buf, size_t cap)
{
	size_t have = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while (have < cap - 1) {
		ssize_t n = read(fd, buf + have, cap - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
	}
	close(fd);
	buf[have] = '\0';
	return have ? 0 : -1;
}

static int whole_disk(const char *name)
{
	char path[128];
	struct stat st;

	if (strncmp(name, "loop", 4) == 0 || strncmp(name, "ram", 3) == 0)
		return 0;
	snprintf(path, sizeof path, "/sys/block/%s", name);
	return stat(path, &st) == 0;
}

/* Counters of one sample. */
typedef struct sample {
	int64_t ms;
	int have_cpu, have_self, have_net, have_disk;
	uint64_t cpu_busy, cpu_total, self_ticks, rss_pages, rx, tx, rd, wr;
} sample;

/* NVML, loaded at run time. Only the few calls and structs used. */
typedef struct nvml_util {
	unsigned int gpu, memory;
} nvml_util;
typedef struct nvml_mem {
	unsigned long long total, free, used;
} nvml_mem;
typedef struct nvml {
	void *lib;
	unsigned int count;
	int (*init)(void);
	int (*shutdown)(void);
	int (*get_count)(unsigned int *);
	int (*get_handle)(unsigned int, void **);
	int (*get_util)(void *, nvml_util *);
	int (*get_mem)(void *, nvml_mem *);
} nvml;

static void nvml_open(nvml *g)
{
	memset(g, 0, sizeof *g);
	if (!(g->lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL)))
		return;
	*(void **)&g->init = dlsym(g->lib, "nvmlInit_v2");
	*(void **)&g->shutdown = dlsym(g->lib, "nvmlShutdown");
	*(void **)&g->get_count = dlsym(g->lib, "nvmlDeviceGetCount_v2");
	*(void **)&g->get_handle = dlsym(g->lib, "nvmlDeviceGetHandleByIndex_v2");
	*(void **)&g->get_util = dlsym(g->lib, "nvmlDeviceGetUtilizationRates");
	*(void **)&g->get_mem = dlsym(g->lib, "nvmlDeviceGetMemoryInfo");
	if (!g->init || !g->shutdown || !g->get_count || !g->get_handle || !g->get_util || !g->get_mem ||
	    g->init() != 0) {
		dlclose(g->lib);
		memset(g, 0, sizeof *g);
		return;
	}
	if (g->get_count(&g->count) != 0 || g->count > 16)
		g->count = g->count > 16 ? 16 : 0;
}

static void nvml_close(nvml *g)
{
	if (g->lib) {
		g->shutdown();
		dlclose(g->lib);
	}
	memset(g, 0, sizeof *g);
}

typedef struct metrics {
	wb_metric m[WB__SYSMON_MAX_METRICS];
	char names[WB__SYSMON_MAX_METRICS][48];
	size_t n;
} metrics;

static void put(metrics *out, const char *key, double v)
{
	if (out->n == WB__SYSMON_MAX_METRICS)
		return;
	snprintf(out->names[out->n], sizeof out->names[0], "system/%s", key);
	out->m[out->n].key = out->names[out->n];
	out->m[out->n].value = v;
	out->n++;
}

/* Take a sample into cur and the metrics it yields against prev (may have nothing yet). */
static void take_sample(const sample *prev, sample *cur, nvml *g, metrics *out, char *buf)
{
	static const long page = 4096;
	long hz = sysconf(_SC_CLK_TCK), pg = sysconf(_SC_PAGESIZE);
	double dt;
	uint64_t a, b;
	double load;

	memset(cur, 0, sizeof *cur);
	cur->ms = wb__mono_ms();
	dt = prev->ms ? (double)(cur->ms - prev->ms) / 1000.0 : 0;
	out->n = 0;
	if (read_proc("/proc/stat", buf, PROC_MAX) == 0 && wb__sysmon_parse_stat(buf, &cur->cpu_busy, &cur->cpu_total) == 0) {
		cur->have_cpu = 1;
		if (prev->have_cpu && cur->cpu_total > prev->cpu_total)
			put(out, "cpu",
			    100.0 * (double)(cur->cpu_busy - prev->cpu_busy) / (double)(cur->cpu_total - prev->cpu_total));
	}
	if (read_proc("/proc/self/stat", buf, PROC_MAX) == 0 &&
	    wb__sysmon_parse_self_stat(buf, &cur->self_ticks, &cur->rss_pages) == 0) {
		cur->have_self = 1;
		if (prev->have_self && dt > 0 && hz > 0)
			put(out, "proc.cpu", 100.0 * (double)(cur->self_ticks - prev->self_ticks) / (double)hz / dt);
		put(out, "proc.rss", (double)cur->rss_pages * (double)(pg > 0 ? pg : page));
	}
	if (read_proc("/proc/meminfo", buf, PROC_MAX) == 0 && wb__sysmon_parse_meminfo(buf, &a, &b) == 0) {
		put(out, "memory.used", (double)(a - (b < a ? b : a)));
		put(out, "memory.available", (double)b);
	}
	if (read_proc("/proc/diskstats", buf, PROC_MAX) == 0 &&
	    wb__sysmon_parse_diskstats(buf, whole_disk, &cur->rd, &cur->wr) == 0) {
		cur->have_disk = 1;
		if (prev->have_disk && dt > 0 && cur->rd >= prev->rd && cur->wr >= prev->wr) {
			put(out, "disk.read", (double)(cur->rd - prev->rd) / dt);
			put(out, "disk.write", (double)(cur->wr - prev->wr) / dt);
		}
	}
	if (read_proc("/proc/net/dev", buf, PROC_MAX) == 0 && wb__sysmon_parse_netdev(buf, &cur->rx, &cur->tx) == 0) {
		cur->have_net = 1;
		if (prev->have_net && dt > 0 && cur->rx >= prev->rx && cur->tx >= prev->tx) {
			put(out, "net.rx", (double)(cur->rx - prev->rx) / dt);
			put(out, "net.tx", (double)(cur->tx - prev->tx) / dt);
		}
	}
	if (read_proc("/proc/loadavg", buf, PROC_MAX) == 0 && wb__sysmon_parse_loadavg(buf, &load) == 0)
		put(out, "load1", load);
	for (unsigned int i = 0; i < g->count; i++) {
		void *h;
		nvml_util u;
		nvml_mem m;
		char key[32];
		if (g->get_handle(i, &h) != 0)
			continue;
		if (g->get_util(h, &u) == 0) {
			snprintf(key, sizeof key, "gpu.%u.util", i);
			put(out, key, u.gpu);
		}
		if (g->get_mem(h, &m) == 0) {
			snprintf(key, sizeof key, "gpu.%u.memory.used", i);
			put(out, key, (double)m.used);
		}
	}
}

static void push(wb__sysmon *m, const metrics *ms, uint8_t *rec)
{
	size_t size;

	if (!ms->n || !(size = wb__metrics_size(ms->m, ms->n)))
		return;
	wb__metrics_encode(rec, wb__mono_ms() - m->start_ms, wb__wall_s(), ms->m, ms->n);
	wb__run_push(m->run, WB__REC_SYSTEM, rec, size);
}

static void *sysmon_main(void *arg)
{
	wb__sysmon *m = arg;
	sample s[2];
	metrics ms;
	nvml g;
	int cur = 0;
	char *buf = malloc(PROC_MAX);
	uint8_t *rec = malloc(WB__SYSMON_MAX_METRICS * (64 + 8) + 32);
	int64_t next;

	memset(s, 0, sizeof s);
	nvml_open(&g);
	if (!buf || !rec)
		goto done;
	take_sample(&s[1], &s[0], &g, &ms, buf); /* the baseline for the rates */
	push(m, &ms, rec);
	next = wb__mono_ms() + m->period_ms;
	pthread_mutex_lock(&m->mu);
	while (!m->stop) {
		if (wb__cond_wait_until(&m->cv, &m->mu, next) != ETIMEDOUT || m->stop)
			continue;
		pthread_mutex_unlock(&m->mu);
		take_sample(&s[cur], &s[cur ^ 1], &g, &ms, buf);
		cur ^= 1;
		push(m, &ms, rec);
		next += m->period_ms;
		if (next < wb__mono_ms())
			next = wb__mono_ms() + m->period_ms;
		pthread_mutex_lock(&m->mu);
	}
	pthread_mutex_unlock(&m->mu);
done:
	nvml_close(&g);
	free(buf);
	free(rec);
	return NULL;
}

int wb__sysmon_start(wb__sysmon *m, struct wb_run *run, unsigned int period_ms, int64_t start_ms)
{
	int rc;

	memset(m, 0, sizeof *m);
	m->run = run;
	m->period_ms = period_ms;
	m->start_ms = start_ms;
	if (pthread_mutex_init(&m->mu, NULL))
		return wb__error(WB_ENOMEM, "cannot create the system sampler's mutex");
	if (wb__cond_init(&m->cv)) {
		pthread_mutex_destroy(&m->mu);
		return wb__error(WB_ENOMEM, "cannot create the system sampler's condition");
	}
	if ((rc = wb__thread_start(&m->thread, sysmon_main, m, "the system sampler"))) {
		pthread_cond_destroy(&m->cv);
		pthread_mutex_destroy(&m->mu);
		return rc;
	}
	m->started = 1;
	return WB_OK;
}

void wb__sysmon_stop(wb__sysmon *m)
{
	if (!m->started)
		return;
	pthread_mutex_lock(&m->mu);
	m->stop = 1;
	pthread_cond_signal(&m->cv);
	pthread_mutex_unlock(&m->mu);
	pthread_join(m->thread, NULL);
	pthread_cond_destroy(&m->cv);
	pthread_mutex_destroy(&m->mu);
	m->started = 0;
}
