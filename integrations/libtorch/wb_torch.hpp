/*
 * wb_torch.hpp — wb::watch for LibTorch (C++): histograms of a module's
 * gradients and weights, every `freq` training steps, through wb.hpp.
 *
 *     wb::run run(o);
 *     auto w = wb::watch(*model, run, 100);          // hooks stay until w is destroyed
 *     for (...) {
 *             auto loss = ...; opt.zero_grad(); loss.backward(); opt.step();
 *             run.log({{"loss", loss.item<double>()}});
 *     }
 *
 * How it works, and why:
 *  - A hook on every parameter that requires a gradient
 *    (Tensor::register_hook) sees the gradient autograd computed for it.
 *    LibTorch modules have no forward hooks, so the training step is the
 *    run's: the step being computed is the one the next automatic log takes,
 *    wb_run_step() + 1. When it is a multiple of freq, each hook takes a
 *    histogram of its gradient ("gradients/<name>") and, before the
 *    optimizer changes it, of its weight ("parameters/<name>").
 *  - Histograms are computed in torch (torch::histc, `bins` equal-width
 *    bins between the finite minimum and maximum; NaN and +-Inf left out).
 *    Only the bins leave torch, through wb_run_log_histogram_bins.
 *  - They are logged once the trainer has logged that step (the first hook
 *    of a later backward pass, flush(), or the watcher's destructor), with
 *    WB_STEP_AUTO: "the run's current step", so they land on the step of the
 *    loss they belong to, as in the Python wb.watch.
 *  - The hooks return nothing: gradients, weights and the random number
 *    generator are untouched; training gives the same results with and
 *    without watch.
 *  - Failing wb calls inside hooks never throw into autograd: the first
 *    error is kept (watcher::hook_error()) and later captures go on.
 */
#ifndef WB_TORCH_HPP
#define WB_TORCH_HPP

#include "wb.hpp"

#include <torch/torch.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace wb {

enum class watch_log { gradients, parameters, all };

namespace detail {

struct hist {
	std::string key;
	std::vector<double> edges, counts;
};

/* Bins and edges of the finite values of t; false when it has none. */
inline bool torch_histogram(const torch::Tensor &src, int bins, hist &out)
{
	torch::NoGradGuard ng;
	torch::Tensor t = src.detach().reshape(-1).to(torch::kFloat);
	torch::Tensor finite = torch::isfinite(t);
	if (!finite.all().item<bool>())
		t = t.masked_select(finite);
	if (t.numel() == 0)
		return false;
	double lo = t.min().item<double>(), hi = t.max().item<double>();
	if (lo == hi) { /* a constant tensor: one bin [v, v], as libwb bins it */
		out.edges = {lo, hi};
		out.counts = {static_cast<double>(t.numel())};
		return true;
	}
	torch::Tensor c = torch::histc(t, bins, lo, hi).to(torch::kDouble).contiguous();
	out.counts.assign(c.data_ptr<double>(), c.data_ptr<double>() + bins);
	out.edges.resize(static_cast<size_t>(bins) + 1);
	for (int i = 0; i <= bins; i++)
		out.edges[static_cast<size_t>(i)] = lo + (hi - lo) * i / bins;
	out.edges[static_cast<size_t>(bins)] = hi;
	return true;
}

struct watch_state {
	const wb::run *owner; /* checked at every hook: a finished run is not touched */
	int64_t freq;
	int bins;
	bool grads, params;
	std::mutex mu;
	std::vector<hist> pending;
	int64_t pending_step = -1;
	int first_error = WB_OK;
	std::vector<int64_t> captured; /* per parameter: the last step captured */
	std::vector<torch::Tensor> tensors;
	std::vector<std::string> names;

	/* Log what is pending once the trainer logged its step (or always). */
	void flush_locked(bool always)
	{
		wb_run *run = owner->handle();
		if (!run)
			pending.clear();
		if (pending.empty() || (!always && wb_run_step(run) < pending_step))
			return;
		for (const hist &h : pending) {
			int rc = wb_run_log_histogram_bins(run, h.key.c_str(), h.edges.data(), h.counts.data(),
						       h.counts.size(), WB_STEP_AUTO);
			if (rc != WB_OK && first_error == WB_OK)
				first_error = rc;
		}
		pending.clear();
	}

	void on_grad(size_t i, const torch::Tensor &grad)
	{
		std::lock_guard<std::mutex> lock(mu);
		flush_locked(false);
		wb_run *run = owner->handle();
		if (!run)
			return;
		int64_t step = wb_run_step(run) + 1;
		if (step % freq != 0 || captured[i] == step)
			return;
		captured[i] = step;
		pending_step = step;
		hist h;
		if (grads && torch_histogram(grad, bins, h)) {
			h.key = "gradients/" + names[i];
			pending.push_back(std::move(h));
		}
		if (params && torch_histogram(tensors[i], bins, h)) {
			h.key = "parameters/" + names[i];
			pending.push_back(std::move(h));
		}
	}
};

} // namespace detail

/* The hooks of one wb::watch; destroying it (or remove()) takes them off
 * after logging what is pending. Move-only. The wb::run object must
 * outlive it (finishing the run is fine: hooks then do nothing; what was
 * pending is logged only by a flush() or remove() before finish()). */
class watcher {
public:
	watcher(torch::nn::Module &module, run &r, int64_t freq, watch_log what, int bins)
	    : s_(std::make_shared<detail::watch_state>())
	{
		if (!r)
			throw wb::error(WB_ESTATE, "wb::watch on a finished run");
		if (freq < 1 || bins < 1 || bins > 1024)
			throw wb::error(WB_EINVAL, "wb::watch: freq must be >= 1 and bins in 1..1024");
		s_->owner = &r;
		s_->freq = freq;
		s_->bins = bins;
		s_->grads = what != watch_log::parameters;
		s_->params = what != watch_log::gradients;
		for (auto &p : module.named_parameters(true)) {
			if (!p.value().requires_grad())
				continue;
			size_t i = s_->tensors.size();
			s_->tensors.push_back(p.value());
			s_->names.push_back(p.key());
			s_->captured.push_back(-1);
			std::weak_ptr<detail::watch_state> weak = s_;
			hooks_.push_back(p.value().register_hook([weak, i](torch::Tensor grad) {
				if (auto s = weak.lock())
					s->on_grad(i, grad);
			}));
		}
	}
	watcher(watcher &&) noexcept = default;
	watcher &operator=(watcher &&) = delete;
	watcher(const watcher &) = delete;
	watcher &operator=(const watcher &) = delete;
	~watcher() { remove(); }

	/* Log what is pending now, at the run's current step. */
	void flush()
	{
		if (!s_)
			return;
		std::lock_guard<std::mutex> lock(s_->mu);
		s_->flush_locked(true);
	}
	/* The first wb error inside a hook (WB_OK if none). */
	int hook_error() const { return s_ ? s_->first_error : WB_OK; }

	void remove()
	{
		if (!s_)
			return;
		flush();
		for (size_t i = 0; i < hooks_.size(); i++)
			s_->tensors[i].remove_hook(hooks_[i]);
		hooks_.clear();
		s_.reset();
	}

private:
	std::shared_ptr<detail::watch_state> s_;
	std::vector<unsigned> hooks_;
};

/* Histograms of module's gradients and/or weights every freq steps. */
inline watcher watch(torch::nn::Module &module, run &r, int64_t freq = 1000, watch_log what = watch_log::all,
		     int bins = 64)
{
	return watcher(module, r, freq, what, bins);
}

} // namespace wb

#endif /* WB_TORCH_HPP */
