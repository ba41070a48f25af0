"""wb.watch on real PyTorch models, and the Fashion-MNIST example, against a
real `wb server` (see conftest.py)."""

import math
import os
import subprocess
import sys

import pytest
import torch

import wb

EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "fashion_mnist.py")


def media(server, run):
    st, body = server.api(server.run_path(run) + "/media")
    assert st == 200, body
    return {(m["kind"], m["key"]): m for m in body["media"]}


def histograms(server, run, key):
    st, body = server.api(server.run_path(run) + "/media/histogram", key=key, samples=10000)
    assert st == 200, body
    return body["values"]


def net():
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Dropout(0.2), torch.nn.Linear(8, 2))


def train(model, run, steps, seed, on_step=None):
    torch.manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = torch.randn(16, 4), torch.randint(0, 2, (16,))
    for step in range(steps):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if on_step:
            on_step(step)
        opt.step()
        if run is not None:
            run.log({"loss": loss.item()})
    return loss.item()


def test_watch_logs_histograms_every_n_steps(server):
    torch.manual_seed(0)
    model = net()
    w0 = model[0].weight.detach().clone()
    grads = {}

    def on_step(step):
        if step % 2 == 0:
            grads[step] = model[3].weight.grad.detach().clone()

    run = wb.init(project="py-watch")
    wb.watch(model, log="all", log_freq=2, bins=16)
    with torch.no_grad():
        model.eval()
        model(torch.randn(3, 4))  # evaluation passes are not training steps
        model.train()
    train(model, run, 6, seed=1, on_step=on_step)
    run.finish()

    got = media(server, run)
    names = ["0.weight", "0.bias", "3.weight", "3.bias"]
    for kind in ("parameters", "gradients"):
        for n in names:
            m = got[("histogram", "%s/%s" % (kind, n))]
            assert (m["count"], m["first_step"], m["last_step"]) == (3, 0, 4), m
    assert len(got) == 8

    # The weights at step 0 are the initial weights: same bins as torch computes.
    h = histograms(server, run, "parameters/0.weight")
    assert [v["step"] for v in h] == [0, 2, 4]
    first = h[0]
    assert len(first["counts"]) == 16 and len(first["edges"]) == 17
    assert first["edges"][0] == pytest.approx(float(w0.min()), abs=1e-7)
    assert first["edges"][-1] == pytest.approx(float(w0.max()), abs=1e-7)
    assert first["counts"] == torch.histc(w0, bins=16, min=float(w0.min()), max=float(w0.max())).tolist()
    # Gradients: what autograd computed at that step, all 16 of them.
    g = histograms(server, run, "gradients/3.weight")
    assert [v["step"] for v in g] == [0, 2, 4]
    for v in g:
        want = grads[v["step"]]
        assert sum(v["counts"]) == want.numel()
        assert v["edges"][0] == pytest.approx(float(want.min()), abs=1e-7)
        assert v["edges"][-1] == pytest.approx(float(want.max()), abs=1e-7)
        assert v["nan"] == 0 and v["inf"] == 0


def test_watch_does_not_change_training(server):
    torch.manual_seed(5)
    a = net()
    b = net()
    b.load_state_dict(a.state_dict())
    run = wb.init(project="py-watch", name="invariance")
    wb.watch(b, log="all", log_freq=1)
    la = train(a, None, 20, seed=3)  # dropout draws random numbers: the RNG must be untouched too
    lb = train(b, run, 20, seed=3)
    run.finish()
    assert la == lb
    for (na, pa), (nb, pb) in zip(a.named_parameters(), b.named_parameters()):
        assert na == nb and torch.equal(pa, pb), na
    assert media(server, run)[("histogram", "gradients/0.weight")]["count"] == 20


class Scale(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(4))
        self.frozen = torch.nn.Parameter(torch.zeros(3), requires_grad=False)

    def forward(self, x):
        return (self.w * x).sum()


def test_watch_non_finite_and_constant(server):
    model = Scale()
    run = wb.init(project="py-watch", name="nonfinite")
    wb.watch(model, log="all", log_freq=1)
    model(torch.tensor([1.0, 2.0, math.inf, math.nan])).backward()  # grad of w = x
    run.log({"x": 1})
    run.finish()
    g = histograms(server, run, "gradients/w")
    assert len(g) == 1 and g[0]["step"] == 0
    assert sum(g[0]["counts"]) == 2  # Inf and NaN left out
    assert g[0]["edges"][0] == 1.0 and g[0]["edges"][-1] == 2.0
    p = histograms(server, run, "parameters/w")  # all ones: one bin [1, 1]
    assert p[0]["edges"] == [1.0, 1.0] and p[0]["counts"] == [4.0]
    got = media(server, run)
    assert ("histogram", "gradients/frozen") not in got  # no gradient, no hook
    assert got[("histogram", "parameters/frozen")]["count"] == 1


def test_watch_pending_at_finish_and_unwatch(server):
    model = Scale()
    run = wb.init(project="py-watch", name="pending")
    run.log({"x": 1}, step=7)
    wb.watch(model, log="gradients", log_freq=1)
    model(torch.ones(4)).backward()  # captured, never followed by a log(): finish logs it
    run.finish()
    g = histograms(server, run, "gradients/w")
    assert [v["step"] for v in g] == [7]
    assert ("histogram", "parameters/w") not in media(server, run)

    run = wb.init(project="py-watch", name="unwatch")
    wb.watch(model, log="gradients", log_freq=1)
    model(torch.ones(4)).backward()
    run.log({"x": 1})
    wb.unwatch(model)
    model(torch.ones(4)).backward()
    run.log({"x": 2})
    run.finish()
    assert [v["step"] for v in histograms(server, run, "gradients/w")] == [0]


def test_watch_bad_arguments(server):
    run = wb.init(project="py-watch")
    try:
        for kwargs in ({"log": "weights"}, {"log_freq": 0}, {"bins": 0}, {"bins": 2000}):
            with pytest.raises(wb.Error) as e:
                wb.watch(Scale(), **kwargs)
            assert e.value.code == wb.EINVAL
        with pytest.raises(TypeError):
            wb.watch(object())
    finally:
        run.finish()
    with pytest.raises(wb.Error) as e:
        wb.watch(Scale())
    assert e.value.code == wb.ESTATE  # no run


def test_fashion_mnist_example(server):
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", OMP_NUM_THREADS="1")
    p = subprocess.run([sys.executable, EXAMPLE, "--epochs", "1", "--limit", "6000", "--log-freq", "25",
                        "--project", "fmnist-py", "--name", "example"], env=env, capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0, p.stderr
    url = [l for l in p.stdout.splitlines() if l.startswith("wb: run example: ")][-1].split(": ", 2)[2]
    entity, project, _, rid = url.rsplit("/", 4)[1:]
    assert project == "fmnist-py"
    st, run = server.api("/projects/%s/%s/runs/%s" % (entity, project, rid))
    assert st == 200, run
    assert run["state"] == "finished"
    assert run["config"]["hidden"] == 256 and run["config"]["data"]["name"] == "fashion-mnist"
    assert run["summary"]["test/acc"] > 0.7, run["summary"]
    steps = (6000 + 63) // 64
    path = "/projects/%s/%s/runs/%s" % (run["entity"], run["project"], run["id"])
    st, m = server.api(path + "/metrics")
    counts = {x["key"]: x["count"] for x in m["metrics"]}
    assert counts["train/loss"] == steps and counts["val/acc"] == 1
    st, md = server.api(path + "/media")
    hist = {x["key"]: x for x in md["media"] if x["kind"] == "histogram"}
    assert set(hist) == {"%s/%s.%s" % (k, l, t) for k in ("parameters", "gradients") for l in ("fc1", "fc2")
                         for t in ("weight", "bias")}
    assert hist["gradients/fc1.weight"]["count"] == (steps + 24) // 25
