#!/usr/bin/env python3
"""bench_python.py — what run.log costs a Python trainer, against wb_log in C.

The Python package hands run.log's numbers to libwb in one wb_log call
(integrations/python/wb: a cached key layout, one struct.pack, one ctypes
call that keeps the GIL). This measures, on an offline run in a fresh temp
directory (removed at the end):

  py_log_<k>_per_call / py_log_<k>_per_point
      run.log({k keys}) at automatic steps, k = 1, 4, 16: the median over
      blocks of 256 calls of the mean time per call (blocks absorb the
      timer's cost; the median ignores the blocks where the writer applied
      backpressure, which bench_log reports for C);
  py_log_nested_4_per_call
      run.log({"train": {"loss": x, "acc": y}, "val": {...}}): nested dicts
      are flattened per call (the slow path);
  py_log_overhead_<k>_per_call
      the same call on a disabled run (wb_log returns at once): the cost of
      the Python layer alone;
  py_ctypes_wb_log_4_per_call
      a plain ctypes call of wb_log with a prebuilt array (a CDLL with
      argtypes, which converts every argument and releases the GIL): what a
      straightforward ctypes binding pays for the call alone;
  c_wb_log_p50_per_call_4metrics / 1metric and py_vs_c_ratio_<k>
      from bench_log (--bench-log PATH runs it with 200,000 calls), and
      run.log's cost per call over C's.

Output: one JSON object per line, {"bench": ..., "value": ..., "unit": ...}.

Usage: bench_python.py [--calls N] [--bench-log build/tests/bench/bench_log]
       (WB_LIBRARY=build/sdk/libwb.so, as for the package)
"""

import argparse
import ctypes
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integrations", "python"))
import wb  # noqa: E402
from wb import _lib  # noqa: E402

BLOCK = 256


def emit(name, value, unit):
    print(json.dumps({"bench": name, "value": round(value, 3), "unit": unit}), flush=True)


def per_call(fn, calls):
    """Median over blocks of BLOCK calls of the mean ns per call."""
    for _ in range(min(calls // 10, 20000)):  # warm-up: caches, the layout
        fn()
    blocks = []
    clock = time.perf_counter_ns
    for _ in range(max(calls // BLOCK, 1)):
        t0 = clock()
        for _ in range(BLOCK):
            fn()
        blocks.append((clock() - t0) / BLOCK)
    return statistics.median(blocks)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=500000)
    ap.add_argument("--bench-log", default=None)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="wb-bench-py-")
    results = {}
    try:
        for mode in ("offline", "disabled"):
            run = wb.init(project="bench", mode=mode, dir=tmp, disable_git=True, system_sample_ms=-1)
            for k in (1, 4, 16):
                d = {"metric/%d" % i: 0.5 + i for i in range(k)}
                ns = per_call(lambda: run.log(d), a.calls)
                if mode == "offline":
                    results[k] = ns
                    emit("py_log_%d_per_call" % k, ns, "ns")
                    emit("py_log_%d_per_point" % k, ns / k, "ns")
                else:
                    emit("py_log_overhead_%d_per_call" % k, ns, "ns")
            if mode == "offline":
                nested = {"train": {"loss": 0.5, "acc": 0.9}, "val": {"loss": 0.6, "acc": 0.8}}
                emit("py_log_nested_4_per_call", per_call(lambda: run.log(nested), a.calls // 4), "ns")
                arr = (_lib.Metric * 4)(*[_lib.Metric(b"m%d" % i, float(i)) for i in range(4)])
                h, addr, f = run._h, ctypes.addressof(arr), _lib.wb_log
                emit("py_ctypes_wb_log_4_per_call", per_call(lambda: f(h, addr, 4, -1), a.calls), "ns")
                emit("py_log_dropped", run.dropped, "records")
            run.finish()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if a.bench_log:
        out = subprocess.run([a.bench_log, "200000"], capture_output=True, text=True, check=True).stdout
        c = {j["bench"]: j["value"] for j in map(json.loads, out.splitlines())}
        for name, k in (("wb_log_p50_per_call_1metric", 1), ("wb_log_p50_per_call_4metrics", 4)):
            emit("c_" + name, c[name], "ns")
            emit("py_vs_c_ratio_%d" % k, results[k] / c[name], "x")


if __name__ == "__main__":
    main()
