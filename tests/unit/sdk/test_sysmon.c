/*
 * test_sysmon.c — the /proc parsers of the system sampler
 * (sdk/src/sysmon.c), on fixed text copied from a Linux 6.1 machine, and
 * one pass of the sampler over the real /proc.
 */
#include "test_sdk_helpers.h"

#include "sysmon.h"

static void test_sysmon__stat(void **state)
{
	uint64_t busy, total;

	(void)state;
	assert_int_equal(wb__sysmon_parse_stat("cpu  100 5 50 800 40 3 2 0 0 0\ncpu0 1 2 3 4\n", &busy, &total), 0);
	assert_int_equal(total, 1000);
	assert_int_equal(busy, 160);
	assert_int_equal(wb__sysmon_parse_stat("intr 1 2 3\n", &busy, &total), -1);
}

static void test_sysmon__self_stat(void **state)
{
	uint64_t ticks, rss;
	/* comm with a space and a parenthesis */
	const char *t = "4242 (my (weird) prog) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 8 0 123 "
			"1000000 2048 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";

	(void)state;
	assert_int_equal(wb__sysmon_parse_self_stat(t, &ticks, &rss), 0);
	assert_int_equal(ticks, 300);
	assert_int_equal(rss, 2048);
	assert_int_equal(wb__sysmon_parse_self_stat("garbage", &ticks, &rss), -1);
}

static void test_sysmon__meminfo(void **state)
{
	uint64_t total, avail;

	(void)state;
	assert_int_equal(wb__sysmon_parse_meminfo("MemTotal:       16318748 kB\nMemFree:         1000 kB\n"
						  "MemAvailable:    8000000 kB\n",
						  &total, &avail),
			 0);
	assert_int_equal(total, 16318748ull * 1024);
	assert_int_equal(avail, 8000000ull * 1024);
	assert_int_equal(wb__sysmon_parse_meminfo("MemTotal: 5 kB\n", &total, &avail), -1);
}

static void test_sysmon__netdev(void **state)
{
	uint64_t rx, tx;
	const char *t = "Inter-|   Receive                                                |  Transmit\n"
			" face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"
			"    lo: 5000      50    0    0    0     0          0         0     5000      50    0    0    0     0       0          0\n"
			"  eth0: 1000      10    0    0    0     0          0         0     2000      20    0    0    0     0       0          0\n"
			"  eth1: 300       3     0    0    0     0          0         0     400       4     0    0    0     0       0          0\n";

	(void)state;
	assert_int_equal(wb__sysmon_parse_netdev(t, &rx, &tx), 0);
	assert_int_equal(rx, 1300);
	assert_int_equal(tx, 2400);
}

static int only_sda(const char *name) { return strcmp(name, "sda") == 0; }

static void test_sysmon__diskstats(void **state)
{
	uint64_t rd, wr;
	const char *t = "   8       0 sda 100 0 2000 50 200 0 4000 80 0 100 130 0 0 0 0\n"
			"   8       1 sda1 90 0 1800 40 190 0 3900 70 0 90 110 0 0 0 0\n"
			"   7       0 loop0 5 0 10 1 0 0 0 0 0 1 1 0 0 0 0\n";

	(void)state;
	assert_int_equal(wb__sysmon_parse_diskstats(t, only_sda, &rd, &wr), 0);
	assert_int_equal(rd, 2000ull * 512);
	assert_int_equal(wr, 4000ull * 512);
}

static void test_sysmon__loadavg(void **state)
{
	double l;

	(void)state;
	assert_int_equal(wb__sysmon_parse_loadavg("0.52 0.40 0.33 2/345 6789\n", &l), 0);
	assert_true(l > 0.51 && l < 0.53);
}

/* An offline run with a 10 ms sampler writes SYSTEM records with system/
 * keys and non-decreasing x; wb_log refuses system/ keys. */
static void test_sysmon__offline_run(void **state)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	char dir[256], log[512];
	wb_run *run = NULL;
	double deadline = wbt_now_ms() + 20000;
	int64_t prev = -1;
	int nsys = 0;
	wbt_log l;

	(void)state;
	wbt_setup(dir, sizeof dir);
	o.mode = WB_MODE_OFFLINE;
	o.project = "p";
	o.entity = "e";
	o.dir = dir;
	o.system_sample_ms = 10;
	assert_int_equal(wb_init(&run, &o), WB_OK);
	assert_int_equal(WB_LOG(run, WB_STEP_AUTO, {"system/cpu", 1.0}), WB_EINVAL);
	snprintf(log, sizeof log, "%s/records.wbl", wb_run_dir(run));
	for (;;) { /* poll the log until three samples are in it */
		nsys = 0;
		assert_int_equal(WB_LOG(run, WB_STEP_AUTO, {"x", 1.0}), WB_OK);
		if (access(log, R_OK) == 0) {
			wbt_log_load(&l, log);
			for (size_t i = 0; i < l.n; i++)
				nsys += l.frames[i].type == WB__REC_SYSTEM;
			wbt_log_free(&l);
		}
		if (nsys >= 3 || wbt_now_ms() > deadline)
			break;
	}
	assert_true(nsys >= 3);
	assert_int_equal(wb_finish(run, 0), WB_OK);
	wbt_log_load(&l, log);
	for (size_t i = 0; i < l.n; i++) {
		wb__metrics_reader r;
		const char *key;
		size_t klen;
		double v;
		if (l.frames[i].type != WB__REC_SYSTEM)
			continue;
		assert_int_equal(wb__metrics_begin(&r, l.frames[i].payload, l.frames[i].len), 0);
		assert_true(r.step >= prev);
		prev = r.step;
		while (wb__metrics_next(&r, &key, &klen, &v))
			assert_int_equal(strncmp(key, "system/", 7), 0);
	}
	assert_int_equal(l.frames[l.n - 1].type, WB__REC_FINISH);
	wbt_log_free(&l);
	wbt_rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sysmon__stat),     cmocka_unit_test(test_sysmon__self_stat),
		cmocka_unit_test(test_sysmon__meminfo),  cmocka_unit_test(test_sysmon__netdev),
		cmocka_unit_test(test_sysmon__diskstats), cmocka_unit_test(test_sysmon__loadavg),
		cmocka_unit_test(test_sysmon__offline_run),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
