"""A real `wb server` for the Python tests, started the way
tests/e2e/harness.c and tests/browser/lib.mjs start it: the built binary
($WB_BIN) on 127.0.0.1 port 0, a fresh data and config directory, its URL
from <data>/server.url and its API key from <config>/settings. Waits are
conditions with deadlines. The server is stopped with SIGTERM and the
directory removed at the end of the session.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # the wb package of this source tree


def wait_for(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(0.01)  # poll interval of a condition wait


class Server:
    def __init__(self, binary):
        self.root = tempfile.mkdtemp(prefix="wbt-py-")
        self.data = os.path.join(self.root, "data")
        self.config = os.path.join(self.root, "config")
        self.runs = os.path.join(self.root, "runs")
        os.makedirs(self.config)
        self.log_path = os.path.join(self.root, "server.log")
        env = dict(os.environ, WB_CONFIG_DIR=self.config)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([binary, "server", "--data", self.data, "--host", "127.0.0.1",
                                          "--port", "0"], env=env, stdout=log, stderr=log)
        url_file = os.path.join(self.data, "server.url")

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError("wb server exited: " + open(self.log_path).read())
            if not os.path.exists(url_file):
                return False
            url = open(url_file).read().strip()
            if not url.startswith("http://"):
                return False
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=5) as r:
                    return url if r.status == 200 else False
            except OSError:
                return False

        self.url = wait_for(ready, 30, "wb server")
        with open(os.path.join(self.config, "settings")) as f:
            self.key = [l.split("=", 1)[1].strip() for l in f if l.startswith("api_key=")][0]

    def env(self):
        return {"WB_CONFIG_DIR": self.config, "WB_BASE_URL": self.url, "WB_API_KEY": self.key,
                "WB_DIR": self.runs, "WB_DISABLE_GIT": "1", "WB_SYSTEM_SAMPLE_MS": "-1"}

    def api(self, path, **query):
        url = self.url + "/api/v1" + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        req = urllib.request.Request(url, headers={"Authorization": "Bearer " + self.key})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def run_path(self, run):
        return "/projects/%s/%s/runs/%s" % (run.entity, run.project, run.id)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def server():
    binary = os.environ.get("WB_BIN")
    assert binary, "set WB_BIN to the built wb binary (ctest does)"
    s = Server(binary)
    saved = {k: os.environ.get(k) for k in s.env()}
    os.environ.update(s.env())
    try:
        yield s
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        s.stop()
