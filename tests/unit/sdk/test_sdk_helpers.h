/*
 * test_sdk_helpers.h — shared helpers of the SDK unit tests: temporary
 * directories, a clean environment, and reading a run log back with the
 * wire codec.
 *
 * Every test runs in a mkdtemp directory with WB_CONFIG_DIR pointing
 * inside it, so the developer's real settings file is never read, and
 * removes the directory at the end.
 */
#ifndef WB_TEST_SDK_HELPERS_H
#define WB_TEST_SDK_HELPERS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "wb.h"
#include "wire.h"

static const char *const wbt_env_vars[] = {
	"WB_PROJECT", "WB_ENTITY", "WB_NAME", "WB_RUN_GROUP", "WB_JOB_TYPE", "WB_NOTES", "WB_TAGS", "WB_RUN_ID",
	"WB_MODE", "WB_BASE_URL", "WB_API_KEY", "WB_DIR", "WB_BUFFER_BYTES", "WB_FINISH_TIMEOUT_MS",
	"WB_HEARTBEAT_MS", "WB_CONFIG_DIR", "XDG_CONFIG_HOME", "WB_SWEEP", "WB_SWEEP_TRIAL", "WB_SWEEP_PARAMS",
};

/* A fresh temporary directory in buf (PATH_MAX-ish); unset every WB_*
 * variable and point WB_CONFIG_DIR at <dir>/config. */
static inline void wbt_setup(char *buf, size_t cap)
{
	char cfg[512];

	snprintf(buf, cap, "/tmp/wbtest-XXXXXX");
	assert_non_null(mkdtemp(buf));
	for (size_t i = 0; i < sizeof wbt_env_vars / sizeof wbt_env_vars[0]; i++)
		unsetenv(wbt_env_vars[i]);
	snprintf(cfg, sizeof cfg, "%s/config", buf);
	assert_int_equal(mkdir(cfg, 0700), 0);
	setenv("WB_CONFIG_DIR", cfg, 1);
	/* Tests count the records a run writes: no git capture of the source
	 * tree they run in, no system sampler (test_gitcap and test_sysmon
	 * turn them on). */
	setenv("WB_DISABLE_GIT", "1", 1);
	setenv("WB_SYSTEM_SAMPLE_MS", "off", 1);
}

static inline int wbt_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static inline void wbt_rm_rf(const char *path)
{
	nftw(path, wbt_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The fixture most SDK tests share: a fresh temporary directory in dir
 * before each test (wbt_setup), removed after it. Defines dir, setup and
 * teardown for cmocka_unit_test_setup_teardown. */
#define WBT_DIR_FIXTURE                                              \
	static char dir[256];                                        \
	static int setup(void **state)                               \
	{                                                            \
		(void)state;                                         \
		wbt_setup(dir, sizeof dir);                          \
		return 0;                                            \
	}                                                            \
	static int teardown(void **state)                            \
	{                                                            \
		(void)state;                                         \
		wbt_rm_rf(dir);                                      \
		return 0;                                            \
	}

static inline double wbt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Write text to path (create or truncate). */
static inline void wbt_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Append n bytes to path. */
static inline void wbt_append(const char *path, const void *data, size_t n)
{
	int fd = open(path, O_WRONLY | O_APPEND);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	close(fd);
}

/* Read a whole file; caller frees. */
static inline uint8_t *wbt_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* A run log read back: every frame decoded in place in data. */
typedef struct wbt_log {
	uint8_t *data;
	size_t len;
	wb__frame *frames;
	size_t n;
	size_t valid; /* bytes of whole, valid frames */
} wbt_log;

static inline void wbt_log_load(wbt_log *log, const char *path)
{
	size_t off = 0, cap = 64;

	memset(log, 0, sizeof *log);
	log->data = wbt_read_file(path, &log->len);
	log->frames = malloc(cap * sizeof *log->frames);
	assert_non_null(log->frames);
	for (;;) {
		size_t used;
		wb__frame f;
		if (wb__frame_decode(log->data + off, log->len - off, &f, &used) != WB__FRAME_OK)
			break;
		if (log->n == cap) {
			cap *= 2;
			log->frames = realloc(log->frames, cap * sizeof *log->frames);
			assert_non_null(log->frames);
		}
		log->frames[log->n++] = f;
		off += used;
	}
	log->valid = off;
}

static inline void wbt_log_free(wbt_log *log)
{
	free(log->data);
	free(log->frames);
	memset(log, 0, sizeof *log);
}

/* Parse a JSON frame payload; caller deletes. */
static inline cJSON *wbt_json(const wb__frame *f)
{
	cJSON *j = cJSON_ParseWithLength((const char *)f->payload, f->len);

	assert_non_null(j);
	return j;
}

/* Path of a file in run's directory. */
static inline void wbt_run_path(char *buf, size_t cap, wb_run *run, const char *file)
{
	snprintf(buf, cap, "%s/%s", wb_run_dir(run), file);
}

#endif /* WB_TEST_SDK_HELPERS_H */
