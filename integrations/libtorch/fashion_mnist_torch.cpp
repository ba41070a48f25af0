/*
 * fashion_mnist_torch.cpp — a LibTorch trainer instrumented with wb.hpp and
 * wb::watch: a 784-hidden-10 MLP (ReLU) trained with SGD + momentum on
 * Fashion-MNIST, read by the C example's loader (integrations/examples/
 * fmnist.c: Debian's dataset-fashion-mnist). The last 5,000 training
 * images are the validation set, t10k the test set.
 *
 * It records the hyperparameters, the loss and accuracy of every
 * mini-batch, validation figures per epoch, the test figures as summary
 * values, and histograms of every gradient and weight every --log-freq
 * steps. Tracking errors are reported and training goes on.
 *
 *   fashion_mnist_torch [--epochs N] [--lr X] [--batch N] [--hidden N] [--limit N]
 *                       [--log-freq N] [--seed N] [--data DIR] [--project P] [--name NAME]
 */
#include "wb_torch.hpp"

extern "C" {
#include "fmnist.h"
}

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

constexpr long nval = 5000;

struct args {
	int epochs = 2, batch = 64, hidden = 128, log_freq = 100;
	long limit = 0;
	uint64_t seed = 1;
	double lr = 0.05, momentum = 0.9;
	std::string data = FMNIST_DEFAULT_DIR, project, name;
};

bool parse(int argc, char **argv, args &a)
{
	for (int i = 1; i < argc; i++) {
		std::string f = argv[i];
		if (i + 1 >= argc) {
			std::fprintf(stderr, "fashion_mnist_torch: %s needs a value\n", f.c_str());
			return false;
		}
		const char *v = argv[++i];
		if (f == "--epochs")
			a.epochs = std::atoi(v);
		else if (f == "--lr")
			a.lr = std::atof(v);
		else if (f == "--batch")
			a.batch = std::atoi(v);
		else if (f == "--hidden")
			a.hidden = std::atoi(v);
		else if (f == "--limit")
			a.limit = std::atol(v);
		else if (f == "--log-freq")
			a.log_freq = std::atoi(v);
		else if (f == "--seed")
			a.seed = std::strtoull(v, nullptr, 10);
		else if (f == "--data")
			a.data = v;
		else if (f == "--project")
			a.project = v;
		else if (f == "--name")
			a.name = v;
		else {
			std::fprintf(stderr, "fashion_mnist_torch: unknown option %s\n", f.c_str());
			return false;
		}
	}
	if (a.epochs < 1 || a.batch < 1 || a.hidden < 1 || a.log_freq < 1 || a.limit < 0) {
		std::fprintf(stderr, "fashion_mnist_torch: --epochs, --batch, --hidden, --log-freq must be >= 1\n");
		return false;
	}
	return true;
}

/* Images [first, first + n) of d as an n x 784 float tensor in [0, 1], and labels. */
std::pair<torch::Tensor, torch::Tensor> tensors(const dataset &d, long first, long n)
{
	auto x = torch::from_blob(d.images + first * NPIX, {n, NPIX}, torch::kUInt8).to(torch::kFloat).div_(255.0);
	auto y = torch::from_blob(d.labels + first, {n}, torch::kUInt8).to(torch::kLong);
	return {x, y};
}

struct mlp_impl : torch::nn::Module {
	explicit mlp_impl(int hidden)
	    : fc1(register_module("fc1", torch::nn::Linear(NPIX, hidden))),
	      fc2(register_module("fc2", torch::nn::Linear(hidden, NCLASS)))
	{
	}
	torch::Tensor forward(torch::Tensor x) { return fc2(torch::relu(fc1(x))); }
	torch::nn::Linear fc1, fc2;
};

std::pair<double, double> evaluate(mlp_impl &m, const torch::Tensor &x, const torch::Tensor &y)
{
	torch::NoGradGuard ng;
	m.eval();
	auto out = m.forward(x);
	double loss = torch::nn::functional::cross_entropy(out, y).item<double>();
	double acc = out.argmax(1).eq(y).to(torch::kFloat).mean().item<double>();
	m.train();
	return {loss, acc};
}

} // namespace

int main(int argc, char **argv)
{
	args a;
	dataset train = {}, test = {};
	if (!parse(argc, argv, a))
		return 2;
	if (dataset_load(a.data.c_str(), "train", &train) < 0 || dataset_load(a.data.c_str(), "t10k", &test) < 0) {
		dataset_free(&train);
		return 1;
	}
	torch::manual_seed(a.seed);
	long ntrain = train.n - nval;
	if (a.limit && a.limit < ntrain)
		ntrain = a.limit;
	auto [xtr, ytr] = tensors(train, 0, ntrain);
	auto [xva, yva] = tensors(train, train.n - nval, nval);
	auto [xte, yte] = tensors(test, 0, test.n);

	auto model = std::make_shared<mlp_impl>(a.hidden);
	torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(a.lr).momentum(a.momentum));
	long steps_per_epoch = (ntrain + a.batch - 1) / a.batch, total = steps_per_epoch * a.epochs;

	wb::options o;
	o.project = !a.project.empty() ? a.project : std::getenv("WB_PROJECT") ? std::string() : "fashion-mnist";
	if (o.project->empty())
		o.project.reset();
	if (!a.name.empty())
		o.name = a.name;
	int rc = 0;
	try {
		wb::run run(o);
		std::printf("wb: run %s: %s\n", run.name().c_str(), run.url().c_str());
		std::fflush(stdout);
		run.config("epochs", a.epochs);
		run.config("batch", a.batch);
		run.config("hidden", a.hidden);
		run.config("optimizer.name", "sgd");
		run.config("optimizer.lr", a.lr);
		run.config("optimizer.momentum", a.momentum);
		run.config("seed", static_cast<int64_t>(a.seed));
		run.config("data.name", "fashion-mnist");
		run.config("data.train", static_cast<int64_t>(ntrain));
		run.config("framework", std::string("libtorch ") + TORCH_VERSION);
		run.define_metric("val/*", "epoch", 0);
		auto watch = wb::watch(*model, run, a.log_freq);
		long step = 0;
		for (int epoch = 0; epoch < a.epochs; epoch++) {
			auto perm = torch::randperm(ntrain, torch::kLong);
			for (long i = 0; i < steps_per_epoch; i++, step++) {
				auto idx = perm.slice(0, i * a.batch, std::min((i + 1) * a.batch, ntrain));
				auto x = xtr.index_select(0, idx), y = ytr.index_select(0, idx);
				double lr = a.lr * 0.5 * (1 + std::cos(M_PI * static_cast<double>(step) / total));
				for (auto &g : opt.param_groups())
					static_cast<torch::optim::SGDOptions &>(g.options()).lr(lr);
				auto out = model->forward(x);
				auto loss = torch::nn::functional::cross_entropy(out, y);
				opt.zero_grad();
				loss.backward();
				opt.step();
				double acc = out.argmax(1).eq(y).to(torch::kFloat).mean().item<double>();
				if (int e = run.try_log({{"train/loss", loss.item<double>()}, {"train/acc", acc}, {"lr", lr}}))
					std::fprintf(stderr, "wb: log: %s\n", wb_strerror(e));
			}
			auto [vloss, vacc] = evaluate(*model, xva, yva);
			run.log({{"epoch", epoch + 1}, {"val/loss", vloss}, {"val/acc", vacc}});
			std::printf("epoch %d: val loss %.4f acc %.4f\n", epoch + 1, vloss, vacc);
			std::fflush(stdout);
		}
		watch.remove();
		if (watch.hook_error() != WB_OK)
			std::fprintf(stderr, "wb: watch: %s\n", wb_strerror(watch.hook_error()));
		auto [tloss, tacc] = evaluate(*model, xte, yte);
		run.summary("test/loss", tloss);
		run.summary("test/acc", tacc);
		std::printf("test loss %.4f acc %.4f\n", tloss, tacc);
		run.finish();
	} catch (const wb::error &e) {
		std::fprintf(stderr, "wb: %s\n", e.what());
		rc = 1;
	}
	dataset_free(&train);
	dataset_free(&test);
	return rc;
}
