"""wb.watch(model): histograms of a PyTorch model's gradients and weights.

How it works, and why:
  - A forward pre-hook on the model counts training steps: forward passes
    while the model is in training mode and autograd is on (evaluation
    passes do not count). Every log_freq-th step (the 1st, the
    log_freq+1-th, ...) is a capture step.
  - On a capture step the pre-hook takes a histogram of every weight
    ("parameters/<name>"), before the optimizer changes it, and arms the
    gradient hooks: a hook on each parameter tensor (Tensor.register_hook)
    takes a histogram of the gradient autograd computed for it
    ("gradients/<name>").
  - Histograms are computed in torch (torch.histc, `bins` equal-width bins
    between the finite minimum and maximum; NaN and +-Inf are left out) and
    only the bins travel: counts and edges go to wb_log_histogram_bins, the
    tensors never leave torch.
  - They are not logged on their own step: like wandb's watch, they join
    the next run.log() call and land on its step, so "loss" and
    "gradients/fc1.weight" of one training step share a step. What is
    still waiting at finish() is logged at the last step.
  - The hooks read tensors and return None, so gradients, weights and the
    random number generator are untouched: training gives bit-identical
    results with and without watch (tests/test_watch.py checks this).
"""

import array

import torch

from . import EINVAL, ESTATE, Error, Histogram

_LOG_KINDS = {"gradients": (False, True), "parameters": (True, False), "all": (True, True)}
_watches = {}  # id(model) -> Watch


def _histogram(t, bins):
    """A Histogram (bins and edges, as doubles) of the finite values of t,
    or None when it has none."""
    with torch.no_grad():
        t = t.detach()
        if t.is_sparse:
            t = t.coalesce().values()
        t = t.reshape(-1)
        if not t.is_floating_point():
            t = t.float()
        finite = torch.isfinite(t)
        if not bool(finite.all()):
            t = t[finite]
        if t.numel() == 0:
            return None
        t = t.float()
        lo, hi = torch.aminmax(t)
        lo, hi = float(lo), float(hi)
        if lo == hi:  # a constant tensor (a zero bias): one bin [v, v], as libwb bins it
            counts, edges = [float(t.numel())], [lo, hi]
        else:
            counts = torch.histc(t, bins=bins, min=lo, max=hi).double().tolist()
            edges = torch.linspace(lo, hi, bins + 1, dtype=torch.float64).tolist()
    h = Histogram.__new__(Histogram)
    h.values = None
    h.counts = array.array("d", counts)
    h.edges = array.array("d", edges)
    return h


class Watch:
    """The hooks wb.watch put on one model; remove() takes them off."""

    def __init__(self, model, run, log, log_freq, bins):
        if log not in _LOG_KINDS:
            raise Error(EINVAL, "watch log= must be gradients, parameters or all, not %r" % (log,))
        if isinstance(log_freq, bool) or not isinstance(log_freq, int) or log_freq < 1:
            raise Error(EINVAL, "watch log_freq must be an int >= 1")
        if isinstance(bins, bool) or not isinstance(bins, int) or not 1 <= bins <= 1024:
            raise Error(EINVAL, "watch bins must be an int in 1..1024")
        from . import _lib

        if _lib.wb_log_histogram_bins is None:
            raise Error(ESTATE, "watch needs wb_log_histogram_bins, which this libwb (%s) lacks" % _lib.path)
        self.model = model
        self.run = run
        self.params, self.grads = _LOG_KINDS[log]
        self.log_freq = log_freq
        self.bins = bins
        self.steps = 0
        self.armed = False
        self.handles = [model.register_forward_pre_hook(self._pre_forward)]
        if self.grads:
            for name, p in model.named_parameters():
                if p.requires_grad:
                    self.handles.append(p.register_hook(self._grad_hook("gradients/" + name)))

    def _add(self, key, tensor):
        h = _histogram(tensor, self.bins)
        if h is None:
            return
        r = self.run
        if r._pending is None:
            r._pending = {}
        r._pending[key] = h

    def _pre_forward(self, module, inputs):
        if not module.training or not torch.is_grad_enabled():
            return None
        capture = self.steps % self.log_freq == 0
        self.steps += 1
        self.armed = capture and self.grads
        if capture:
            if self.run._pending:  # the last capture never met a run.log(): log it now
                self.run._flush_pending()
            if self.params:
                for name, p in module.named_parameters():
                    self._add("parameters/" + name, p)
        return None

    def _grad_hook(self, key):
        def hook(grad):
            if self.armed and self.run._h is not None:
                self._add(key, grad)
            return None

        return hook

    def remove(self):
        for h in self.handles:
            h.remove()
        self.handles = []
        _watches.pop(id(self.model), None)


def watch(model, run, log, log_freq, bins):
    if not isinstance(model, torch.nn.Module):
        raise TypeError("watch takes a torch.nn.Module, not %s" % type(model).__name__)
    old = _watches.get(id(model))
    if old is not None:
        old.remove()
    w = Watch(model, run, log, log_freq, bins)
    _watches[id(model)] = w
    run._watches.append(w)
    return w


def unwatch(model=None):
    for w in list(_watches.values()):
        if model is None or w.model is model:
            w.remove()
