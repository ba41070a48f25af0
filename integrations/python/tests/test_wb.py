"""The wb Python package against a real `wb server` (see conftest.py): what
Python logs must come back through the HTTP API, exactly."""

import json
import math
import os
import struct
import threading
import time

import pytest

import wb


def bits(x):
    return "%016x" % struct.unpack("<Q", struct.pack("<d", x))[0]


def export(server, run, key):
    st, body = server.api(server.run_path(run) + "/export", key=key, format="json", bits="1")
    assert st == 200, body
    return body


def test_log_round_trip(server):
    run = wb.init(project="py-log", name="round-trip")
    assert wb.run is run
    losses = [1.0 / (i + 1) for i in range(200)] + [math.nan, math.inf, -math.inf, -0.0, 5e-324]
    for i, loss in enumerate(losses):
        run.log({"train": {"loss": loss, "acc": i}, "lr": 0.1})  # nested: train/loss, train/acc
    run.log({"val/acc": 0.5}, step=500)
    run.log({"val/acc": 0.75}, step=500)  # equal step: fine
    run.log({"epoch": 3})  # automatic step after an explicit one
    assert run.step == 501
    path = server.run_path(run)
    run.finish()
    assert wb.run is None
    got = export(server, run, "train/loss")
    assert got["step"] == list(range(len(losses)))
    assert got["bits"] == [bits(x) for x in losses]
    acc = export(server, run, "train/acc")
    assert acc["value"] == list(range(len(losses)))
    val = export(server, run, "val/acc")
    assert val["step"] == [500, 500] and val["value"] == [0.5, 0.75]
    assert export(server, run, "epoch")["step"] == [501]
    st, body = server.api(path)
    assert st == 200 and body["state"] == "finished" and body["exit_code"] == 0
    assert body["name"] == "round-trip" and body["project"] == "py-log"


def test_values_numpy_and_torch_scalars(server):
    import numpy as np

    run = wb.init(project="py-log")
    run.log({"a": np.float32(0.25), "b": np.int64(7), "c": True})
    run.log({"a": np.float64(0.5), "b": 8, "c": False})
    run.finish()
    assert export(server, run, "a")["value"] == [0.25, 0.5]
    assert export(server, run, "b")["value"] == [7, 8]
    assert export(server, run, "c")["value"] == [1, 0]


def test_summary_and_config(server):
    run = wb.init(project="py-conf", config={"optimizer": {"name": "sgd", "lr": 0.05}, "batch": 64,
                                             "big": 1 << 62, "amp": False, "layers": [128, 64]})
    run.config["seed"] = 7
    run.config.update({"data": {"name": "fmnist"}})
    assert run.config["optimizer.lr"] == 0.05
    assert run.config["batch"] == 64 and isinstance(run.config["batch"], int)
    assert run.config["big"] == 1 << 62
    assert run.config["amp"] is False
    assert run.config["layers"] == "[128, 64]"
    assert run.config["optimizer.name"] == "sgd"
    with pytest.raises(KeyError):
        run.config["nope"]
    assert "seed" in run.config and "nope" not in run.config
    for i in range(5):
        run.log({"loss": 5.0 - i})
    run.summary["test/acc"] = 0.875
    run.summary["best"] = "epoch-3"
    run.summary.update({"val": {"loss": 0.25}})
    assert run.summary["test/acc"] == 0.875 and "val/loss" in run.summary
    with pytest.raises(TypeError):
        run.summary["bad"] = object()
    path = server.run_path(run)
    run.finish()
    st, body = server.api(path)
    assert st == 200
    c = body["config"]
    assert c["optimizer"] == {"name": "sgd", "lr": 0.05}
    assert c["batch"] == 64 and c["seed"] == 7 and c["amp"] is False and c["data"] == {"name": "fmnist"}
    assert c["big"] == 1 << 62
    s = body["summary"]
    assert s["test/acc"] == 0.875 and s["best"] == "epoch-3" and s["val/loss"] == 0.25
    assert s["loss"] == 1.0  # computed by the server: the last value


def test_context_manager_finishes(server):
    with wb.init(project="py-ctx") as run:
        run.log({"x": 1})
    st, body = server.api(server.run_path(run))
    assert body["state"] == "finished" and body["exit_code"] == 0
    with pytest.raises(wb.Error) as e:
        run.log({"x": 2})
    assert e.value.code == wb.ESTATE


def test_context_manager_failure(server):
    with pytest.raises(ZeroDivisionError):
        with wb.init(project="py-ctx", name="fails") as run:
            run.log({"x": 1})
            1 / 0
    st, body = server.api(server.run_path(run))
    assert st == 200 and body["state"] == "failed" and body["exit_code"] == 1
    assert export(server, run, "x")["value"] == [1]


def test_errors(server):
    with pytest.raises(wb.Error) as e:
        wb.init(project="../etc")
    assert e.value.code == wb.EINVAL and e.value.name == "WB_EINVAL"
    assert "project" in str(e.value)
    run = wb.init(project="py-err")
    try:
        with pytest.raises(wb.Error) as e:
            run.log({"bad\nkey": 1.0})
        assert e.value.code == wb.EINVAL
        with pytest.raises(wb.Error) as e:
            run.log({"system/cpu": 1.0})  # reserved for the sampler
        assert e.value.code == wb.EINVAL
        with pytest.raises(wb.Error) as e:
            run.log({"nul\0key": 1.0})
        assert e.value.code == wb.EINVAL
        run.log({"x": 1.0}, step=10)
        with pytest.raises(wb.Error) as e:
            run.log({"x": 2.0}, step=9)  # decreasing
        assert e.value.code == wb.EINVAL and "step" in e.value.message
        for bad in (-1, -5):  # also on the cached fast path of key "x"
            with pytest.raises(wb.Error) as e:
                run.log({"x": 2.0}, step=bad)
            assert e.value.code == wb.EINVAL
        with pytest.raises(TypeError):
            run.log({"x": 2.0}, step=1.5)
        with pytest.raises(TypeError):
            run.log({"x": "text"})
        with pytest.raises(TypeError):
            run.log({"x": None})
        with pytest.raises(TypeError):
            run.log([("x", 1.0)])
        with pytest.raises(wb.Error) as e:
            run.config["bad..key"] = 1
        assert e.value.code == wb.EINVAL
        run.config["t"] = "s"
        run.log({"x": 3.0})  # still usable after the errors
    finally:
        run.finish()
    assert export(server, run, "x")["value"] == [1.0, 3.0]
    assert export(server, run, "x")["step"] == [10, 11]


def test_module_functions(server):
    with pytest.raises(wb.Error) as e:
        wb.log({"x": 1})
    assert e.value.code == wb.ESTATE
    run = wb.init(project="py-mod")
    wb.log({"x": 1})
    wb.log({"x": 2}, step=4)
    wb.finish()
    assert wb.run is None
    got = export(server, run, "x")
    assert got["step"] == [0, 4] and got["value"] == [1, 2]


def test_threads_log_concurrently(server):
    run = wb.init(project="py-threads")
    n = 2000

    def worker(t):
        for i in range(n):
            run.log({"t%d/a" % t: t * 10000 + i, "t%d/b" % t: -i})

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    run.finish()
    for t in range(4):
        a = export(server, run, "t%d/a" % t)["value"]
        b = export(server, run, "t%d/b" % t)["value"]
        assert a == [t * 10000 + i for i in range(n)]
        assert b == [-i for i in range(n)]


def test_offline_and_disabled(server, tmp_path):
    run = wb.init(project="py-off", mode="offline", dir=tmp_path)
    run.log({"x": 1})
    d = run.dir
    run.finish()
    assert os.path.exists(os.path.join(d, "records.wbl"))
    st, _ = server.api(server.run_path(run))
    assert st == 404  # offline: nothing sent until `wb sync`
    off = wb.init(project="py-off", mode="disabled")
    off.log({"x": 1})
    off.summary["y"] = 2
    off.finish()
    with pytest.raises(wb.Error) as e:
        wb.init(mode="sideways")
    assert e.value.code == wb.EINVAL


def test_define_metric(server):
    run = wb.init(project="py-def")
    run.define_metric("val/*", step_metric="epoch", summary=["min", "max"])
    for epoch, v in enumerate([0.5, 0.25, 0.75]):
        run.log({"epoch": epoch, "val/loss": v})
    run.finish()
    st, body = server.api(server.run_path(run))
    assert body["summary"]["val/loss"]["min"] == 0.25 and body["summary"]["val/loss"]["max"] == 0.75


def test_histograms(server):
    import numpy as np

    run = wb.init(project="py-hist")
    run.log({"loss": 1.0, "h": wb.Histogram([1, 2, 2, 3, math.nan])})
    run.log({"loss": 0.5, "h": wb.Histogram(np.arange(100, dtype=np.float32))})
    counts, edges = np.histogram([0.5, 1.5, 1.6, 2.5], bins=[0, 1, 2, 3])
    run.log({"b": wb.Histogram(np_histogram=(counts, edges))}, step=10)
    with pytest.raises(wb.Error) as e:
        wb.Histogram(np_histogram=([1, 2], [0, 1]))  # needs n + 1 edges
    assert e.value.code == wb.EINVAL
    with pytest.raises(wb.Error) as e:
        run.log({"b": wb.Histogram(np_histogram=([1, 2], [0, 2, 1]))}, step=11)  # decreasing edges
    assert e.value.code == wb.EINVAL
    with pytest.raises(TypeError):
        wb.Histogram()
    run.finish()
    st, body = server.api(server.run_path(run) + "/media/histogram", key="h")
    assert st == 200, body
    h = body["values"]
    assert [v["step"] for v in h] == [0, 1]
    assert sum(h[0]["counts"]) == 4 and h[0]["nan"] == 1
    assert h[0]["edges"][0] == 1 and h[0]["edges"][-1] == 3
    assert sum(h[1]["counts"]) == 100 and h[1]["edges"][-1] == 99
    st, body = server.api(server.run_path(run) + "/media/histogram", key="b")
    assert body["values"][0]["step"] == 10
    assert body["values"][0]["counts"] == [1, 2, 1] and body["values"][0]["edges"] == [0, 1, 2, 3]
    assert export(server, run, "loss")["step"] == [0, 1]


def test_alert(server):
    from wb import _lib

    run = wb.init(project="py-alert")
    try:
        with pytest.raises(wb.Error) as e:
            run.alert("t", "x", level="fatal")
        assert e.value.code == wb.EINVAL
        if _lib.wb_alert is None:
            # This libwb has no notifications (branch notify7 adds wb_alert):
            # the call says so instead of doing nothing.
            with pytest.raises(wb.Error) as e:
                wb.alert("loss diverged", "loss is NaN")
            assert e.value.code == wb.ESTATE and "wb_alert" in e.value.message
        else:
            wb.alert("loss diverged", "loss is NaN", level="error")
            run.alert("epoch done", level="info")
            with pytest.raises(wb.Error) as e:
                run.alert("x" * 201)  # titles are 1..200 bytes
            assert e.value.code == wb.EINVAL
    finally:
        run.finish()


def png(width, height, rgb):
    import zlib

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    rows = b"".join(b"\0" + rgb[y * width * 3:(y + 1) * width * 3] for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def raw(server, path):
    import urllib.request

    req = urllib.request.Request(server.url + "/api/v1" + path, headers={"Authorization": "Bearer " + server.key})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.headers.get("Content-Type"), r.read()


def test_images_and_tables(server):
    import zlib

    import numpy as np

    run = wb.init(project="py-media")
    encoded = png(2, 2, bytes(range(12)))
    pixels = np.arange(3 * 4 * 3, dtype=np.uint8).reshape(3, 4, 3)
    run.log({"loss": 1.0, "img": wb.Image(encoded, caption="two by two"), "px": wb.Image(pixels)})
    run.log({"gray": wb.Image(np.full((5, 6), 0.5)),
             "tab": wb.Table(columns=["id", "label", "p"], data=[[0, "shirt", 0.93], [1, None, True]])})
    with pytest.raises(wb.Error) as e:
        wb.Table(columns=["x"], data=[[math.nan]])
    assert e.value.code == wb.EINVAL
    with pytest.raises(wb.Error) as e:
        run.log({"bad": wb.Image(b"not an image")})
    assert e.value.code == wb.EINVAL
    with pytest.raises(wb.Error) as e:
        wb.Image(np.zeros((2, 2, 4)))
    assert e.value.code == wb.EINVAL
    run.finish()
    base = server.run_path(run)
    st, body = server.api(base + "/media/image", key="img")
    v = body["values"][0]
    assert (v["step"], v["mime"], v["width"], v["height"], v["caption"]) == (0, "image/png", 2, 2, "two by two")
    ctype, data = raw(server, base + "/images/" + v["sha256"])
    assert ctype == "image/png" and data == encoded  # served as sent
    st, body = server.api(base + "/media/image", key="px")
    v = body["values"][0]
    assert (v["width"], v["height"]) == (4, 3)
    _, data = raw(server, base + "/images/" + v["sha256"])
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", data[16:24]) == (4, 3)
    idat = b""
    pos = 8
    while pos < len(data):  # walk the chunks, gather IDAT
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        if data[pos + 4:pos + 8] == b"IDAT":
            idat += data[pos + 8:pos + 8 + n]
        pos += 12 + n
    rows = zlib.decompress(idat)
    assert len(rows) == 3 * (1 + 4 * 3)
    out = bytearray()
    for y in range(3):  # undo the row filters libwb may use: None (0) or Sub (1)
        f, line = rows[y * 13], bytearray(rows[y * 13 + 1:(y + 1) * 13])
        assert f in (0, 1)
        if f == 1:
            for x in range(3, len(line)):
                line[x] = (line[x] + line[x - 3]) & 0xFF
        out += line
    assert bytes(out) == pixels.tobytes()
    st, body = server.api(base + "/media/image", key="gray")
    assert body["values"][0]["step"] == 1 and body["values"][0]["width"] == 6
    st, body = server.api(base + "/media/table", key="tab")
    assert body["values"][0]["step"] == 1
    assert body["values"][0]["table"] == {"columns": ["id", "label", "p"], "data": [[0, "shirt", 0.93], [1, None, True]]}


def test_finish_without_server_raises_and_keeps_the_log(tmp_path, server):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    run = wb.init(project="py-down", base_url="http://127.0.0.1:%d" % port, dir=tmp_path, finish_timeout_ms=300)
    run.log({"x": 1.0})
    d = run.dir
    with pytest.raises(wb.Error) as e:
        run.finish()
    assert e.value.code in (wb.ETIMEOUT, wb.ENET)
    assert os.path.getsize(os.path.join(d, "records.wbl")) > 0  # kept for `wb sync`
    # In a with block, that failure does not hide the exception that ended it.
    with pytest.raises(KeyError):
        with wb.init(project="py-down", base_url="http://127.0.0.1:%d" % port, dir=tmp_path,
                     finish_timeout_ms=300):
            raise KeyError("boom")


class _StoppingServer:
    """A real HTTP server on loopback that answers a run as `wb server`
    does (PUT: last_seq 0; records: all taken; heartbeat, finish: an
    object) and, from the second records answer on, with "should_stop":
    true, as a sweep's controller that stopped the run's trial."""

    def __init__(self):
        import http.server

        state = self
        self.records = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                n = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(n)
                body = {"last_seq": 0}
                if self.path.endswith("/records"):
                    state.records += 1
                    body = {"last_seq": 10 ** 9}
                    if state.records >= 2:
                        body["should_stop"] = True
                elif self.path.endswith("/heartbeat") or self.path.endswith("/finish"):
                    body = {}
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_PUT = do_POST = do_GET = _answer

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_should_stop(server, tmp_path):
    # A run that is no sweep's trial is never told to stop.
    run = wb.init(project="py-stop")
    for i in range(20):
        run.log({"x": i})
    assert run.should_stop() is False
    run.finish()
    with pytest.raises(wb.Error):
        run.should_stop()
    # Told by the server's answers: True within a second of logging, for good.
    srv = _StoppingServer()
    try:
        run = wb.init(project="py-stop", entity="alice", base_url=srv.url, api_key="k", dir=tmp_path,
                      heartbeat_ms=100)
        assert run.should_stop() is False
        deadline = time.monotonic() + 10
        step = 0
        while not run.should_stop() and time.monotonic() < deadline:
            run.log({"x": step})
            step += 1
            time.sleep(0.001)  # a training step's worth of compute, not a wait on the flag
        assert run.should_stop() is True
        assert srv.records >= 2
        run.log({"x": step})
        assert run.should_stop() is True
        run.finish()
    finally:
        srv.close()
    off = wb.init(project="py-stop", mode="offline", dir=tmp_path)
    off.log({"x": 1})
    assert off.should_stop() is False
    off.finish()
