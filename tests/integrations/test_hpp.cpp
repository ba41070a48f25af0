/*
 * test_hpp.cpp — the C++17 wrapper sdk/include/wb.hpp against a real
 * `wb server` (tests/e2e/harness): what a wb::run logs comes back through
 * the HTTP API; errors are wb::error with the SDK's code; the destructor
 * finishes the run, as failed when an exception unwinds through it; moves
 * transfer the one handle. Built with -std=c++17 -Wall -Wextra -Werror
 * -pedantic.
 */
#include "wb.hpp"

extern "C" {
#include "harness.h"
#include "receiver.h"
}

#include <atomic>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include <unistd.h>

static int failures;

#define CHECK(cond)                                                                                        \
	do {                                                                                               \
		if (!(cond)) {                                                                             \
			std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);     \
			failures++;                                                                        \
		}                                                                                          \
	} while (0)

template <typename F> static int code_of(F f)
{
	try {
		f();
	} catch (const wb::error &e) {
		return e.code();
	}
	return WB_OK;
}

static wbt_server srv;
static char runs[256];

static std::string run_path(const std::string &url)
{
	/* <base>/<entity>/<project>/runs/<id> -> /api/v1/projects/<entity>/<project>/runs/<id> */
	return "/api/v1/projects" + url.substr(std::string(srv.url).size());
}

static cJSON *get_run(const std::string &url) { return wbt_get_json(&srv, run_path(url).c_str()); }

static void test_hpp__log_config_summary_round_trip()
{
	wb::options o;
	o.project = "cpp";
	o.name = "round-trip";
	wb::run run(o);
	run.config("optimizer.lr", 0.05);
	run.config("batch", 64);
	run.config("big", INT64_C(1) << 60);
	run.config("amp", true);
	run.config("optimizer.name", "sgd");
	run.config("data", std::string("fmnist"));
	CHECK(run.config<double>("optimizer.lr") == 0.05);
	CHECK(run.config<int>("batch") == 64);
	CHECK(run.config<int64_t>("big") == INT64_C(1) << 60);
	CHECK(run.config<bool>("amp"));
	CHECK(run.config<std::string>("optimizer.name") == "sgd");
	CHECK(run.step() == -1);
	for (int i = 0; i < 10; i++)
		run.log({{"loss", 1.0 / (i + 1)}, {"iter", i}, {"ok", i % 2 == 0}, {"f", 0.5f}});
	std::string key = "val/acc";
	run.log({{key, 0.75}}, 20);
	std::vector<wb::metric> many;
	std::vector<std::string> keys;
	for (int i = 0; i < 100; i++)
		keys.push_back("m/" + std::to_string(i));
	for (int i = 0; i < 100; i++)
		many.emplace_back(keys[i], i);
	run.log(many, 21); /* more than the on-stack 64 */
	CHECK(run.step() == 21);
	run.summary("test/acc", 0.875);
	run.summary("best", "epoch-3");
	std::string url = run.url();
	run.finish();
	CHECK(!run);

	cJSON *r = get_run(url), *c, *s;
	CHECK(r != nullptr);
	if (!r)
		return;
	CHECK(std::string(cJSON_GetObjectItem(r, "state")->valuestring) == "finished");
	c = cJSON_GetObjectItem(r, "config");
	CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(c, "optimizer"), "lr")->valuedouble == 0.05);
	CHECK(cJSON_GetObjectItem(c, "batch")->valuedouble == 64);
	CHECK(cJSON_IsTrue(cJSON_GetObjectItem(c, "amp")));
	s = cJSON_GetObjectItem(r, "summary");
	CHECK(cJSON_GetObjectItem(s, "test/acc")->valuedouble == 0.875);
	CHECK(std::string(cJSON_GetObjectItem(s, "best")->valuestring) == "epoch-3");
	CHECK(cJSON_GetObjectItem(s, "iter")->valuedouble == 9);
	CHECK(cJSON_GetObjectItem(s, "ok")->valuedouble == 0);
	CHECK(cJSON_GetObjectItem(s, "m/99")->valuedouble == 99);
	cJSON_Delete(r);

	cJSON *e = wbt_get_json(&srv, (run_path(url) + "/export?key=loss&format=json").c_str());
	CHECK(e != nullptr);
	if (e) {
		cJSON *v = cJSON_GetObjectItem(e, "value");
		CHECK(cJSON_GetArraySize(v) == 10);
		for (int i = 0; i < cJSON_GetArraySize(v); i++)
			CHECK(cJSON_GetArrayItem(v, i)->valuedouble == 1.0 / (i + 1));
		cJSON_Delete(e);
	}
}

static void test_hpp__errors()
{
	wb::options bad;
	bad.project = "../etc";
	CHECK(code_of([&] { wb::run r(bad); }) == WB_EINVAL);
	try {
		wb::run r(bad);
	} catch (const wb::error &e) {
		CHECK(std::string(e.what()).find("wb_run_init") == 0);
		CHECK(std::string(e.what()).find("project") != std::string::npos);
	}

	wb::options o;
	o.project = "cpp";
	wb::run run(o);
	CHECK(code_of([&] { run.log({{"bad\nkey", 1}}); }) == WB_EINVAL);
	CHECK(code_of([&] { run.log({{"system/cpu", 1}}); }) == WB_EINVAL);
	run.log({{"x", 1}}, 5);
	CHECK(code_of([&] { run.log({{"x", 2}}, 4); }) == WB_EINVAL);
	CHECK(run.try_log({{"x", 2}}, 4) == WB_EINVAL);
	CHECK(run.try_log({{"x", 3}}) == WB_OK);
	CHECK(code_of([&] { (void)run.config<int64_t>("missing"); }) == WB_ENOTFOUND);
	run.config("s", "text");
	CHECK(code_of([&] { (void)run.config<int64_t>("s"); }) == WB_ETYPE);
	CHECK(code_of([&] { run.config("bad..key", 1); }) == WB_EINVAL);
#ifdef WB_ALERT_INTERVAL_DEFAULT /* libwb with notifications (wb_alert) */
	run.alert(WB_ALERT_WARN, "loss diverged", "loss is NaN");
	CHECK(code_of([&] { run.alert(WB_ALERT_INFO, ""); }) == WB_EINVAL);
#endif
	run.finish();
	CHECK(code_of([&] { run.log({{"x", 1}}); }) == WB_ESTATE);
	CHECK(run.try_log({{"x", 1}}) == WB_ESTATE);
	CHECK(code_of([&] { run.summary("a", 1); }) == WB_ESTATE);
	run.finish(); /* twice: nothing */
}

static std::string state_of(const std::string &url)
{
	cJSON *r = get_run(url);
	std::string st = r ? cJSON_GetObjectItem(r, "state")->valuestring : "?";
	cJSON_Delete(r);
	return st;
}

static void test_hpp__destructor_finishes()
{
	wb::options o;
	o.project = "cpp";
	std::string ok_url, failed_url;
	{
		wb::run run(o);
		run.log({{"x", 1}});
		ok_url = run.url();
	}
	CHECK(state_of(ok_url) == "finished");
	try {
		wb::run run(o);
		failed_url = run.url();
		run.log({{"x", 1}});
		throw std::runtime_error("training diverged");
	} catch (const std::runtime_error &) {
	}
	CHECK(state_of(failed_url) == "failed");
}

static void test_hpp__move()
{
	wb::options o;
	o.project = "cpp";
	wb::run a(o);
	std::string url = a.url();
	wb::run b(std::move(a));
	CHECK(!a && b);
	CHECK(code_of([&] { a.log({{"x", 1}}); }) == WB_ESTATE);
	b.log({{"x", 1}});
	wb::run c(o);
	std::string url_c = c.url();
	c = std::move(b); /* finishes c's own run first */
	CHECK(state_of(url_c) == "finished");
	CHECK(c.url() == url);
	c.log({{"x", 2}});
	c.finish(3);
	cJSON *r = get_run(url);
	CHECK(r && std::string(cJSON_GetObjectItem(r, "state")->valuestring) == "failed");
	CHECK(r && cJSON_GetObjectItem(r, "exit_code")->valuedouble == 3);
	cJSON_Delete(r);
}

static void test_hpp__rich_data()
{
	wb::options o;
	o.project = "cpp";
	wb::run run(o);
	run.log({{"loss", 1.0}});
	run.histogram("h", std::vector<double>{1, 2, 2, 3});
	run.histogram("b", {0, 1, 2}, {3, 4}, 5);
	CHECK(code_of([&] { run.histogram("b", {0, 1}, {3, 4}); }) == WB_EINVAL);
	const uint8_t rgb[2 * 2 * 3] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255};
	run.image_rgb("img", rgb, 2, 2, "four pixels");
	CHECK(code_of([&] { run.image("bad", "nope", 4); }) == WB_EINVAL);
	run.table("t", R"({"columns":["a","b"],"data":[[1,"x"]]})");
	CHECK(code_of([&] { run.table("t", "{}"); }) == WB_EINVAL);
	std::string url = run.url();
	run.finish();

	cJSON *h = wbt_get_json(&srv, (run_path(url) + "/media/histogram?key=h").c_str());
	CHECK(h != nullptr);
	if (h) {
		cJSON *v = cJSON_GetArrayItem(cJSON_GetObjectItem(h, "values"), 0);
		CHECK(cJSON_GetObjectItem(v, "step")->valuedouble == 0);
		double total = 0;
		cJSON *c;
		cJSON_ArrayForEach(c, cJSON_GetObjectItem(v, "counts")) total += c->valuedouble;
		CHECK(total == 4);
		cJSON_Delete(h);
	}
	cJSON *b = wbt_get_json(&srv, (run_path(url) + "/media/histogram?key=b").c_str());
	CHECK(b && cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(b, "values"), 0), "step")->valuedouble == 5);
	cJSON_Delete(b);
	cJSON *i = wbt_get_json(&srv, (run_path(url) + "/media/image?key=img").c_str());
	cJSON *iv = i ? cJSON_GetArrayItem(cJSON_GetObjectItem(i, "values"), 0) : nullptr;
	CHECK(iv && cJSON_GetObjectItem(iv, "width")->valuedouble == 2);
	CHECK(iv && std::string(cJSON_GetObjectItem(iv, "caption")->valuestring) == "four pixels");
	cJSON_Delete(i);
	cJSON *t = wbt_get_json(&srv, (run_path(url) + "/media/table?key=t").c_str());
	cJSON *tv = t ? cJSON_GetArrayItem(cJSON_GetObjectItem(t, "values"), 0) : nullptr;
	CHECK(tv && cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(tv, "table"), "data")) == 1);
	cJSON_Delete(t);
}

/* 1 when the server has a sample of the run's system/proc.rss. */
static int has_system_metric(const std::string &url)
{
	cJSON *h = wbt_get_json(&srv, (run_path(url) + "/history?key=system/proc.rss").c_str());
	int found = h && cJSON_GetArraySize(cJSON_GetObjectItem(h, "step")) > 0;
	cJSON_Delete(h);
	return found;
}

/* system_sample_ms = 0 means what it means in C: WB_SYSTEM_SAMPLE_MS, else
 * the default; < 0 turns the sampler off. */
static void test_hpp__system_sample_ms_as_in_c()
{
	wb::options o;
	o.project = "cpp";
	setenv("WB_SYSTEM_SAMPLE_MS", "20", 1);
	o.system_sample_ms = 0;
	std::string on_url, off_url;
	{
		wb::run run(o);
		on_url = run.url();
		double until = wbt_now() + 20;
		while (!has_system_metric(on_url) && wbt_now() < until) {
			run.log({{"x", 1}});
			usleep(100000); /* polling interval of a condition with a deadline */
		}
	}
	CHECK(has_system_metric(on_url));
	o.system_sample_ms = -1;
	{
		wb::run run(o);
		off_url = run.url();
		run.log({{"x", 1}});
	}
	CHECK(state_of(off_url) == "finished");
	CHECK(!has_system_metric(off_url));
	setenv("WB_SYSTEM_SAMPLE_MS", "-1", 1);
}

/* The receiver answers as `wb server` does, records with "should_stop": true
 * from the second on (a sweep's controller stopped the run's trial). */
static std::atomic<int> stop_records;

static int stop_answer(void *, const char *path, char *body, size_t cap)
{
	size_t n = std::strlen(path);
	if (n >= 8 && std::strcmp(path + n - 8, "/records") == 0)
		std::snprintf(body, cap, "{\"last_seq\":1000000000%s}", ++stop_records >= 2 ? ",\"should_stop\":true" : "");
	else
		std::snprintf(body, cap, "{\"last_seq\":0}");
	return 200;
}

static void test_hpp__should_stop()
{
	wb::options o;
	o.project = "cpp-stop";
	{
		/* no sweep's trial: never told to stop */
		wb::run run(o);
		for (int i = 0; i < 20; i++)
			run.log({{"x", i}});
		CHECK(!run.should_stop());
		run.finish();
		CHECK(code_of([&] { (void)run.should_stop(); }) == WB_ESTATE);
	}
	wbt_rx rx;
	std::memset(&rx, 0, sizeof rx);
	rx.answer = stop_answer;
	CHECK(wbt_rx_start(&rx, 0) == 0);
	std::string url = "http://127.0.0.1:" + std::to_string(rx.port);
	o.base_url = url;
	o.entity = "alice";
	o.api_key = "k";
	{
		wb::run run(o);
		CHECK(!run.should_stop());
		double until = wbt_now() + 10;
		for (int i = 0; !run.should_stop() && wbt_now() < until; i++) {
			run.log({{"x", i}});
			usleep(1000); /* a step's compute; the loop waits on the flag against the deadline */
		}
		CHECK(run.should_stop());
		CHECK(stop_records >= 2);
	}
	wbt_rx_free(&rx);
}

int main()
{
	if (wbt_server_start(&srv, "") < 0 || wbt_mkdtemp(runs, sizeof(runs), "hppruns") < 0)
		return 1;
	setenv("WB_DIR", runs, 1);
	setenv("WB_DISABLE_GIT", "1", 1);
	setenv("WB_SYSTEM_SAMPLE_MS", "-1", 1);
	test_hpp__log_config_summary_round_trip();
	test_hpp__errors();
	test_hpp__destructor_finishes();
	test_hpp__move();
	test_hpp__rich_data();
	test_hpp__system_sample_ms_as_in_c();
	test_hpp__should_stop();
	wbt_server_cleanup(&srv);
	wbt_rm_rf(runs);
	std::printf("test_hpp: %s\n", failures ? "FAILED" : "ok");
	return failures ? 1 : 0;
}
