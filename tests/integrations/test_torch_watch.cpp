/*
 * test_torch_watch.cpp — wb::watch (integrations/libtorch/wb_torch.hpp) on
 * real LibTorch models against a real `wb server`: training is
 * bit-identical with and without it; histograms land every freq steps on
 * the loss's step; parameters-only mode; hooks after finish() do nothing;
 * bad arguments throw wb::error.
 */
#include "wb_torch.hpp"

extern "C" {
#include "harness.h"
}

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

static int failures;

#define EXPECT(cond)                                                                                        \
	do {                                                                                               \
		if (!(cond)) {                                                                             \
			std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);     \
			failures++;                                                                        \
		}                                                                                          \
	} while (0)

static wbt_server srv;

static torch::nn::Sequential net()
{
	return torch::nn::Sequential(torch::nn::Linear(4, 8), torch::nn::ReLU(), torch::nn::Dropout(0.2),
				     torch::nn::Linear(8, 2));
}

/* steps of SGD with momentum on a fixed batch; logs the loss when r is set */
static void train(torch::nn::Sequential &m, wb::run *r, int steps)
{
	torch::manual_seed(3);
	torch::optim::SGD opt(m->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
	auto x = torch::randn({16, 4});
	auto y = torch::randint(0, 2, {16}, torch::kLong);
	for (int i = 0; i < steps; i++) {
		auto loss = torch::nn::functional::cross_entropy(m->forward(x), y);
		opt.zero_grad();
		loss.backward();
		opt.step();
		if (r)
			r->log({{"loss", loss.item<double>()}});
	}
}

static std::string api(const wb::run &r, const std::string &rest)
{
	return "/api/v1/projects" + r.url().substr(std::string(srv.url).size()) + rest;
}

static std::vector<double> hist_steps(const std::string &path)
{
	std::vector<double> out;
	cJSON *j = wbt_get_json(&srv, path.c_str()), *v;
	if (!j)
		return out;
	cJSON_ArrayForEach(v, cJSON_GetObjectItem(j, "values")) out.push_back(cJSON_GetObjectItem(v, "step")->valuedouble);
	cJSON_Delete(j);
	return out;
}

static void test_torch_watch__identical_training_and_steps()
{
	torch::manual_seed(5);
	auto a = net(), b = net();
	{
		torch::NoGradGuard ng;
		auto pa = a->parameters(), pb = b->parameters();
		for (size_t i = 0; i < pa.size(); i++)
			pb[i].copy_(pa[i]);
	}
	wb::options o;
	o.project = "torch-watch";
	wb::run run(o);
	std::string g0, p3;
	{
		auto w = wb::watch(*b, run, 3, wb::watch_log::all, 16);
		train(a, nullptr, 10);
		train(b, &run, 10);
		w.remove();
		EXPECT(w.hook_error() == WB_OK);
		g0 = api(run, "/media/histogram?key=gradients/0.weight");
		p3 = api(run, "/media/histogram?key=parameters/3.bias");
	}
	run.finish();
	auto pa = a->parameters(), pb = b->parameters();
	for (size_t i = 0; i < pa.size(); i++)
		EXPECT(torch::equal(pa[i], pb[i]));
	std::vector<double> want = {0, 3, 6, 9};
	EXPECT(hist_steps(g0) == want);
	EXPECT(hist_steps(p3) == want);
}

static void test_torch_watch__parameters_only_and_after_finish()
{
	auto m = net();
	wb::options o;
	o.project = "torch-watch";
	wb::run run(o);
	auto w = wb::watch(*m, run, 1, wb::watch_log::parameters);
	train(m, &run, 2);
	std::string params = api(run, "/media/histogram?key=parameters/0.weight");
	std::string grads = api(run, "/media/histogram?key=gradients/0.weight");
	w.flush();
	run.finish();
	train(m, nullptr, 1); /* hooks on a finished run: nothing, no crash */
	std::vector<double> want = {0, 1};
	EXPECT(hist_steps(params) == want);
	EXPECT(hist_steps(grads).empty());
}

static void test_torch_watch__bad_arguments()
{
	auto m = net();
	wb::options o;
	o.project = "torch-watch";
	wb::run run(o);
	int code = 0;
	try {
		auto w = wb::watch(*m, run, 0);
	} catch (const wb::error &e) {
		code = e.code();
	}
	EXPECT(code == WB_EINVAL);
	run.finish();
	code = 0;
	try {
		auto w = wb::watch(*m, run, 10);
	} catch (const wb::error &e) {
		code = e.code();
	}
	EXPECT(code == WB_ESTATE);
}

int main()
{
	char runs[256];
	if (wbt_server_start(&srv, "") < 0 || wbt_mkdtemp(runs, sizeof(runs), "torchruns") < 0)
		return 1;
	setenv("WB_DIR", runs, 1);
	setenv("WB_DISABLE_GIT", "1", 1);
	setenv("WB_SYSTEM_SAMPLE_MS", "-1", 1);
	test_torch_watch__identical_training_and_steps();
	test_torch_watch__parameters_only_and_after_finish();
	test_torch_watch__bad_arguments();
	wbt_server_cleanup(&srv);
	wbt_rm_rf(runs);
	std::printf("test_torch_watch: %s\n", failures ? "FAILED" : "ok");
	return failures ? 1 : 0;
}
