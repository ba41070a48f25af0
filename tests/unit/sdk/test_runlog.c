/*
 * test_runlog.c — the run log: append and scan, torn and corrupt tails,
 * batch reads, seeking by seq, and resuming a run from its log.
 */
#include "test_sdk_helpers.h"

#include <sys/uio.h>

#include "runlog.h"

static char dir[256];
static char path[512];

static int setup(void **state)
{
	(void)state;
	wbt_setup(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/" WB__RUNLOG_FILE, dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	wbt_rm_rf(dir);
	return 0;
}

/* Encode one frame into out; returns its size. */
static size_t frame(uint8_t *out, uint64_t seq, uint8_t type, const void *payload, uint32_t len)
{
	wb__frame_header(out, seq, type, payload, len);
	memcpy(out + WB__FRAME_HEADER, payload, len);
	return WB__FRAME_HEADER + len;
}

/* Append frames seq first..last to fd at off: METRICS at step = seq * 10,
 * and a FINISH last when finish is set. Returns the new end. */
static uint64_t append_frames(int fd, uint64_t off, uint64_t first, uint64_t last, int finish)
{
	for (uint64_t s = first; s <= last; s++) {
		uint8_t payload[64], hdr[WB__FRAME_HEADER];
		wb_metric m = {"loss", (double)s};
		size_t len = wb__metrics_size(&m, 1);
		uint8_t type = WB__REC_METRICS;
		struct iovec iov[2];

		if (finish && s == last) {
			len = (size_t)snprintf((char *)payload, sizeof payload, "{\"exit_code\":0}");
			type = WB__REC_FINISH;
		} else {
			wb__metrics_encode(payload, (int64_t)s * 10, 1.0, &m, 1);
		}
		wb__frame_header(hdr, s, type, payload, (uint32_t)len);
		iov[0] = (struct iovec){hdr, sizeof hdr};
		iov[1] = (struct iovec){payload, len};
		assert_int_equal(wb__runlog_append(fd, off, iov, 2), WB_OK);
		off += sizeof hdr + len;
	}
	return off;
}

static void test_runlog__write_scan(void **state)
{
	wb__runlog_info info;
	uint64_t end;
	int fd;

	(void)state;
	assert_int_equal(wb__runlog_open(path, &fd, &info, NULL, NULL), WB_OK);
	assert_int_equal(info.frames, 0);
	assert_int_equal(info.last_step, -1);
	assert_int_equal(info.tail, WB__TAIL_CLEAN);
	end = append_frames(fd, 0, 1, 100, 1);
	assert_int_equal(wb__runlog_scan(fd, &info, NULL, NULL), WB_OK);
	assert_int_equal(info.first_seq, 1);
	assert_int_equal(info.last_seq, 100);
	assert_int_equal(info.frames, 100);
	assert_int_equal(info.valid_bytes, end);
	assert_int_equal(info.file_bytes, end);
	assert_int_equal(info.last_step, 990);
	assert_int_equal(info.finished, 1);
	assert_int_equal(info.tail, WB__TAIL_CLEAN);
	close(fd);
}

/* A log may start at any seq (a resumed run whose log was elsewhere). */
static void test_runlog__starts_mid_run(void **state)
{
	wb__runlog_info info;
	uint64_t off, at;
	int fd;

	(void)state;
	assert_int_equal(wb__runlog_open(path, &fd, &info, NULL, NULL), WB_OK);
	append_frames(fd, 0, 41, 50, 0);
	assert_int_equal(wb__runlog_scan(fd, &info, NULL, NULL), WB_OK);
	assert_int_equal(info.first_seq, 41);
	assert_int_equal(info.last_seq, 50);
	assert_int_equal(info.finished, 0);
	assert_int_equal(wb__runlog_find(fd, info.valid_bytes, 1, &off, &at), WB_OK);
	assert_int_equal(off, 0);
	assert_int_equal(at, 41);
	close(fd);
}

static void test_runlog__torn_tail(void **state)
{
	wb__runlog_info info;
	uint8_t buf[128];
	size_t n;
	uint64_t end;
	int fd;
	struct stat st;

	(void)state;
	assert_int_equal(wb__runlog_open(path, &fd, &info, NULL, NULL), WB_OK);
	end = append_frames(fd, 0, 1, 10, 0);
	close(fd);
	/* Half a frame: a trainer killed inside write(2). */
	n = frame(buf, 11, WB__REC_CONFIG, "{\"a\":1}", 7);
	wbt_append(path, buf, n - 3);
	assert_int_equal(wb__runlog_open(path, &fd, &info, NULL, NULL), WB_OK);
	assert_int_equal(info.tail, WB__TAIL_TORN);
	assert_int_equal(info.last_seq, 10);
	assert_int_equal(info.valid_bytes, end);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal((uint64_t)st.st_size, end); /* truncated */
	/* Appending continues the seqs. */
	end = append_frames(fd, end, 11, 12, 1);
	assert_int_equal(wb__runlog_scan(fd, &info, NULL, NULL), WB_OK);
	assert_int_equal(info.last_seq, 12);
	assert_int_equal(info.tail, WB__TAIL_CLEAN);
	close(fd);
}

/* A power loss can leave allocated but unwritten blocks: zeros. */
static void test_runlog__zero_tail(void **state)
{
	wb__runlog_info info;
	uint8_t zeros[4096] = {0};
	uint64_t end;
	int fd;

	(void)state;
	assert_int_equal(wb__runlog_open(path, &fd, &info, NULL, NULL), WB_OK);
	end = append_frames(fd, 0, 1, 5, 0);
	close(fd);
	wbt_append(path, zeros, sizeof zeros);
	assert_int_equal(wb__runlog_open(path, &fd, &info, NULL, NULL), WB_OK);
	assert_int_equal(info.tail, WB__TAIL_TORN);
	assert_int_equal(info.valid_bytes, end);
	assert_int_equal(info.file_bytes, end);
	close(fd);
}

/* The last frame fails its checksum and nothing follows: torn. */
static void test_runlog__bad_last_frame(void **state)
{
	wb__runlog_info info;
	uint8_t buf[128];
	size_t n;
	int fd;

	(void)state;
	assert_int_equal(wb__runlog_open(path, &fd, &info, NULL, NULL), WB_OK);
	append_frames(fd, 0, 1, 5, 0);
	close(fd);
	n = frame(buf, 6, WB__REC_CONFIG, "{\"a\":1}", 7);
	buf[n - 2] ^= 0x40;
	wbt_append(path, buf, n);
	assert_int_equal(wb__runlog_open(path, &fd, &info, NULL, NULL), WB_OK);
	assert_int_equal(info.tail, WB__TAIL_TORN);
	assert_int_equal(info.last_seq, 5);
	close(fd);
}

/* A bad frame followed by good ones: corrupt. The bad part is kept aside
 * and the log truncated so that appending can continue. */
static void test_runlog__corrupt_middle(void **state)
{
	wb__runlog_info info;
	uint64_t end, full;
	uint8_t *data;
	size_t len;
	char aside[600];
	int fd;
	struct stat st;

	(void)state;
	assert_int_equal(wb__runlog_open(path, &fd, &info, NULL, NULL), WB_OK);
	end = append_frames(fd, 0, 1, 5, 0);
	full = append_frames(fd, end, 6, 20, 0);
	close(fd);
	/* Flip one payload bit in frame 6. */
	data = wbt_read_file(path, &len);
	data[end + WB__FRAME_HEADER + 3] ^= 1;
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	free(data);

	fd = open(path, O_RDONLY);
	assert_int_equal(wb__runlog_scan(fd, &info, NULL, NULL), WB_OK);
	assert_int_equal(info.tail, WB__TAIL_CORRUPT);
	assert_int_equal(info.last_seq, 5);
	close(fd);

	assert_int_equal(wb__runlog_open(path, &fd, &info, NULL, NULL), WB_OK);
	assert_int_equal(info.valid_bytes, end);
	assert_int_equal(info.file_bytes, end);
	snprintf(aside, sizeof aside, "%s.corrupt-%llu", path, (unsigned long long)end);
	assert_int_equal(stat(aside, &st), 0);
	assert_int_equal((uint64_t)st.st_size, full - end);
	close(fd);
}

/* Good checksums, but seqs skip: corrupt too. */
static void test_runlog__seq_gap(void **state)
{
	wb__runlog_info info;
	uint64_t end;
	int fd;

	(void)state;
	assert_int_equal(wb__runlog_open(path, &fd, &info, NULL, NULL), WB_OK);
	end = append_frames(fd, 0, 1, 3, 0);
	end = append_frames(fd, end, 5, 6, 0);
	assert_int_equal(wb__runlog_scan(fd, &info, NULL, NULL), WB_OK);
	assert_int_equal(info.last_seq, 3);
	assert_int_equal(info.tail, WB__TAIL_CORRUPT);
	close(fd);
}

static void test_runlog__read_batches(void **state)
{
	wb__runlog_info info;
	uint8_t *buf = NULL, big[3000];
	size_t cap = 0, len;
	uint64_t first, last, off = 0, end, expect = 1;
	int fd;

	(void)state;
	assert_int_equal(wb__runlog_open(path, &fd, &info, NULL, NULL), WB_OK);
	end = append_frames(fd, 0, 1, 50, 0);
	/* Batches of at most 200 bytes: whole frames only, consecutive. */
	while (off < end) {
		assert_int_equal(wb__runlog_read(fd, off, end, 200, &buf, &cap, &len, &first, &last), WB_OK);
		assert_true(len > 0 && len <= 200);
		assert_int_equal(first, expect);
		expect = last + 1;
		off += len;
	}
	assert_int_equal(expect, 51);
	assert_int_equal(wb__runlog_read(fd, end, end, 200, &buf, &cap, &len, &first, &last), WB_OK);
	assert_int_equal(len, 0);

	/* A frame larger than the batch limit comes whole. */
	{
		uint8_t hdr[WB__FRAME_HEADER];
		struct iovec iov[2];
		memset(big, 'x', sizeof big);
		wb__frame_header(hdr, 51, WB__REC_CONFIG, big, sizeof big);
		iov[0] = (struct iovec){hdr, sizeof hdr};
		iov[1] = (struct iovec){big, sizeof big};
		assert_int_equal(wb__runlog_append(fd, end, iov, 2), WB_OK);
	}
	assert_int_equal(wb__runlog_read(fd, end, end + WB__FRAME_HEADER + sizeof big, 200, &buf, &cap, &len, &first,
					 &last),
			 WB_OK);
	assert_int_equal(len, WB__FRAME_HEADER + sizeof big);
	assert_int_equal(first, 51);
	assert_int_equal(last, 51);
	/* Reading past what was published is refused. */
	assert_int_equal(wb__runlog_read(fd, end, end + 100, 200, &buf, &cap, &len, &first, &last), WB_ECORRUPT);
	free(buf);
	close(fd);
}

static void test_runlog__find(void **state)
{
	wb__runlog_info info;
	uint64_t end, off, at, mid;
	int fd;

	(void)state;
	assert_int_equal(wb__runlog_open(path, &fd, &info, NULL, NULL), WB_OK);
	assert_int_equal(wb__runlog_find(fd, 0, 7, &off, &at), WB_OK);
	assert_int_equal(off, 0);
	assert_int_equal(at, 7);
	mid = append_frames(fd, 0, 1, 9, 0);
	end = append_frames(fd, mid, 10, 30, 0);
	assert_int_equal(wb__runlog_find(fd, end, 10, &off, &at), WB_OK);
	assert_int_equal(off, mid);
	assert_int_equal(at, 10);
	assert_int_equal(wb__runlog_find(fd, end, 1, &off, &at), WB_OK);
	assert_int_equal(off, 0);
	assert_int_equal(wb__runlog_find(fd, end, 31, &off, &at), WB_OK);
	assert_int_equal(off, end);
	assert_int_equal(at, 31);
	assert_int_equal(wb__runlog_find(fd, end, 1000, &off, &at), WB_OK);
	assert_int_equal(off, end);
	assert_int_equal(at, 31);
	close(fd);
}

/* An offline run, killed (simulated by a torn tail), resumed by id: it
 * continues the seqs and the steps, keeps its name, and the torn bytes are
 * gone. */
static void test_runlog__resume_run(void **state)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;
	char id[80], name[160], logp[600];
	uint8_t junk[] = {0x30, 0, 0, 0, 1, 2, 3, 4, 5};
	wbt_log log;
	uint64_t expect_seq = 1;
	int runs = 0, metrics = 0;

	(void)state;
	o.mode = WB_MODE_OFFLINE;
	o.dir = dir;
	o.tags = "a,b";
	assert_int_equal(wb_init(&run, &o), WB_OK);
	for (int i = 0; i < 10; i++)
		assert_int_equal(WB_LOG(run, WB_STEP_AUTO, {"loss", 1.0 / (i + 1)}), WB_OK);
	snprintf(id, sizeof id, "%s", wb_run_id(run));
	snprintf(name, sizeof name, "%s", wb_run_name(run));
	wbt_run_path(logp, sizeof logp, run, WB__RUNLOG_FILE);
	assert_int_equal(wb_finish(run, 0), WB_OK);
	wbt_append(logp, junk, sizeof junk);

	o.run_id = id;
	o.tags = NULL;
	assert_int_equal(wb_init(&run, &o), WB_OK);
	assert_string_equal(wb_run_id(run), id);
	assert_string_equal(wb_run_name(run), name);
	assert_int_equal(wb_run_step(run), 9);
	assert_int_equal(WB_LOG(run, WB_STEP_AUTO, {"loss", 0.5}), WB_OK);
	assert_int_equal(wb_run_step(run), 10);
	assert_int_equal(WB_LOG(run, 5, {"loss", 0.5}), WB_EINVAL); /* below the resumed step */
	assert_int_equal(wb_finish(run, 0), WB_OK);

	wbt_log_load(&log, logp);
	assert_int_equal(log.valid, log.len); /* junk truncated, nothing torn */
	for (size_t i = 0; i < log.n; i++) {
		assert_int_equal(log.frames[i].seq, expect_seq++);
		if (log.frames[i].type == WB__REC_RUN) {
			cJSON *j = wbt_json(&log.frames[i]);
			runs++;
			/* The resume records only what it was given. */
			if (runs == 2) {
				assert_null(cJSON_GetObjectItem(j, "name"));
				assert_null(cJSON_GetObjectItem(j, "tags"));
				assert_null(cJSON_GetObjectItem(j, "metadata"));
			}
			cJSON_Delete(j);
		}
		if (log.frames[i].type == WB__REC_METRICS) {
			wb__metrics_reader r;
			assert_int_equal(wb__metrics_begin(&r, log.frames[i].payload, log.frames[i].len), 0);
			assert_int_equal(r.step, metrics);
			metrics++;
		}
	}
	assert_int_equal(runs, 2);
	assert_int_equal(metrics, 11);
	assert_int_equal(log.frames[log.n - 1].type, WB__REC_FINISH);
	wbt_log_free(&log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_runlog__write_scan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_runlog__starts_mid_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_runlog__torn_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_runlog__zero_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_runlog__bad_last_frame, setup, teardown),
		cmocka_unit_test_setup_teardown(test_runlog__corrupt_middle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_runlog__seq_gap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_runlog__read_batches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_runlog__find, setup, teardown),
		cmocka_unit_test_setup_teardown(test_runlog__resume_run, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
