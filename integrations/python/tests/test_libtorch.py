"""The LibTorch trainer (integrations/libtorch, wb.hpp + wb::watch) against a
real `wb server` (see conftest.py). ctest passes the binary in
$WB_TORCH_TRAINER."""

import os
import subprocess


def test_libtorch_trainer(server):
    trainer = os.environ.get("WB_TORCH_TRAINER")
    assert trainer and os.path.exists(trainer), "set WB_TORCH_TRAINER to the built fashion_mnist_torch"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    p = subprocess.run([trainer, "--epochs", "2", "--limit", "3000", "--log-freq", "10", "--project", "fmnist-cpp",
                        "--name", "libtorch"], env=env, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    assert "wb: " not in p.stderr, p.stderr  # no tracking error reported
    url = [l for l in p.stdout.splitlines() if l.startswith("wb: run libtorch: ")][0].split(": ", 2)[2]
    entity, project, _, rid = url.rsplit("/", 4)[1:]
    path = "/projects/%s/%s/runs/%s" % (entity, project, rid)
    st, run = server.api(path)
    assert st == 200 and run["state"] == "finished", run
    assert run["config"]["optimizer"]["name"] == "sgd" and run["config"]["data"]["train"] == 3000
    assert run["summary"]["test/acc"] > 0.65, run["summary"]

    st, loss = server.api(path + "/export", key="train/loss", format="json")
    steps = loss["step"]
    assert len(steps) == 2 * ((3000 + 63) // 64)
    st, md = server.api(path + "/media")
    hist = {m["key"] for m in md["media"] if m["kind"] == "histogram"}
    assert hist == {"%s/%s.%s" % (k, l, t) for k in ("parameters", "gradients") for l in ("fc1", "fc2")
                    for t in ("weight", "bias")}
    # Every 10th training step, on the step of the loss it belongs to.
    want = [s for s in steps if s % 10 == 0]
    for key in hist:
        st, h = server.api(path + "/media/histogram", key=key, samples=10000)
        assert [v["step"] for v in h["values"]] == want, key
        for v in h["values"]:
            n = 784 * 128 if key.endswith("fc1.weight") else None
            if n:
                assert sum(v["counts"]) == n
