"""wb — experiment tracking from Python, over the C SDK libwb.

    import wb
    with wb.init(project="mnist", config={"lr": 0.05, "optimizer": {"name": "sgd"}}) as run:
        for step in range(steps):
            run.log({"train": {"loss": loss, "acc": acc}})      # keys train/loss, train/acc
        run.summary["test/acc"] = test_acc
    # leaving the block finishes the run: exit code 0, or 1 when an exception escaped

This package is a thin layer: every call goes to libwb through ctypes, so the
run log, the upload, the retries, `wb sync` and the guarantees of
sdk/include/wb.h are those of the C SDK, not a second implementation. libwb
is found through $WB_LIBRARY, else next to the installed package, else the
build tree, else the dynamic linker (see _lib.py).

Errors: every failing libwb call raises wb.Error, whose .code is the SDK's
negative error code (wb.EINVAL, ...) and whose message is wb_strerror() and
wb_errmsg(). Wrong Python types raise TypeError before anything reaches C.

Threads: a Run may be used from several threads, as a wb_run may; finish()
must not race with other calls on the same run.
"""

import array
import atexit
import json
import struct
import sys
import threading

from . import _lib

__all__ = [
    "Error", "Run", "Histogram", "Image", "Table", "init", "log", "finish", "alert", "watch", "unwatch", "run",
    "version",
]

# Error codes of sdk/include/wb.h (never renumbered).
OK = 0
EINVAL = -1
ENOMEM = -2
EIO = -3
ENET = -4
EAUTH = -5
ESERVER = -6
EFULL = -7
ENOTFOUND = -8
ETYPE = -9
ESTATE = -10
ETIMEOUT = -11
ECORRUPT = -12
ERANGE = -13
_CODE_NAMES = {v: "WB_" + k for k, v in globals().items() if k.isupper() and isinstance(v, int) and k != "OK"}

_MODES = {None: 0, "online": 1, "offline": 2, "disabled": 3}
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
_MAX_LAYOUTS = 256  # cached key layouts per run (see Run.log)
_STEP_AUTO = _lib.ctypes.c_int64(_lib.STEP_AUTO)

run = None  # the run of the last wb.init() that is not finished yet


def version():
    """libwb's version string, e.g. "0.1.0"."""
    return _lib.wb_version().decode()


class Error(Exception):
    """A libwb call failed. .code is the SDK's error code (wb.EINVAL, ...),
    .name its C name ("WB_EINVAL"), .message the one-line detail."""

    def __init__(self, code, message):
        self.code = code
        self.name = _CODE_NAMES.get(code, "WB_E%d" % -code)
        self.message = message
        super().__init__("%s (%s): %s" % (message, self.name, _lib.wb_strerror(code).decode()))


def _check(code, what):
    if code != 0:
        detail = _lib.wb_errmsg().decode("utf-8", "replace")
        raise Error(code, "%s: %s" % (what, detail) if detail else what)
    return code


def _enc(s, what):
    if not isinstance(s, str):
        raise TypeError("%s must be a str, not %s" % (what, type(s).__name__))
    b = s.encode("utf-8")
    if b"\0" in b:
        raise Error(EINVAL, "%s %r contains a NUL byte" % (what, s))
    return b


def _flatten(d, sep, prefix="", out=None):
    """{"a": {"b": 1}} -> {"a<sep>b": 1}; keys are str."""
    if out is None:
        out = {}
    for k, v in d.items():
        if not isinstance(k, str):
            raise TypeError("key %r must be a str, not %s" % (k, type(k).__name__))
        key = prefix + k
        if isinstance(v, dict):
            _flatten(v, sep, key + sep, out)
        else:
            out[key] = v
    return out


class _Media:
    """A rich value of run.log: logged by its own libwb call at the step of
    the log call."""

    __slots__ = ()

    @staticmethod
    def _fn(name):
        f = getattr(_lib, name)
        if f is None:
            raise Error(ESTATE, "this libwb has no %s" % name)
        return f


class Histogram(_Media):
    """A distribution for run.log: from raw values (sequence, histogram
    computed by libwb) or precomputed bins (np_histogram=(counts, edges),
    len(edges) == len(counts) + 1, as numpy.histogram returns them).

        run.log({"weights": wb.Histogram(w)})
        run.log({"latency": wb.Histogram(np_histogram=numpy.histogram(x, bins=32))})
    """

    __slots__ = ("values", "counts", "edges")

    def __init__(self, sequence=None, np_histogram=None):
        if (sequence is None) == (np_histogram is None):
            raise TypeError("Histogram takes either sequence or np_histogram")
        self.values = self.counts = self.edges = None
        if sequence is not None:
            self.values = _doubles(sequence)
            if len(self.values) == 0:
                raise Error(EINVAL, "histogram of no values")
        else:
            counts, edges = np_histogram
            self.counts, self.edges = _doubles(counts), _doubles(edges)
            if len(self.counts) == 0 or len(self.edges) != len(self.counts) + 1:
                raise Error(EINVAL, "histogram needs n > 0 counts and n + 1 edges, got %d and %d" %
                            (len(self.counts), len(self.edges)))

    def _log(self, handle, key, step):
        k = _enc(key, "histogram key")
        if self.values is not None:
            _check(self._fn("wb_log_histogram")(handle, k, self.values.buffer_info()[0], len(self.values), step),
                   "wb_log_histogram %s" % key)
        else:
            _check(self._fn("wb_log_histogram_bins")(handle, k, self.edges.buffer_info()[0],
                                                     self.counts.buffer_info()[0], len(self.counts), step),
                   "wb_log_histogram_bins %s" % key)


class Image(_Media):
    """An image for run.log: encoded PNG or JPEG bytes, or pixels — a numpy
    array of shape (H, W, 3) or (H, W) or a torch tensor of shape (3, H, W),
    (1, H, W) or (H, W); uint8, or floats in [0, 1] — which libwb encodes
    as PNG. caption: optional text shown with it.

        run.log({"samples": wb.Image(batch[0], caption="epoch 3")})
    """

    __slots__ = ("data", "rgb", "width", "height", "caption")

    def __init__(self, data, caption=None):
        self.caption = None if caption is None else _enc(caption, "caption")
        self.data = self.rgb = None
        self.width = self.height = 0
        if isinstance(data, (bytes, bytearray, memoryview)):
            self.data = bytes(data)
            return
        if hasattr(data, "detach") and hasattr(data, "numpy"):  # torch: channels first
            data = data.detach().cpu()
            if data.dim() == 3:
                data = data.permute(1, 2, 0)
            data = data.numpy()
        if not hasattr(data, "__array_interface__"):
            raise TypeError("Image takes PNG/JPEG bytes, a numpy array or a torch tensor, not %s"
                            % type(data).__name__)
        import numpy as np

        a = np.asarray(data)
        if a.ndim == 3 and a.shape[2] == 1:
            a = a[:, :, 0]
        if a.ndim == 2:
            a = np.stack([a, a, a], axis=2)
        if a.ndim != 3 or a.shape[2] != 3:
            raise Error(EINVAL, "image pixels must be (H, W, 3) or (H, W), got shape %s" % (a.shape,))
        if a.dtype != np.uint8:
            a = (np.clip(a.astype(np.float64), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
        self.height, self.width = int(a.shape[0]), int(a.shape[1])
        self.rgb = np.ascontiguousarray(a).tobytes()

    def _log(self, handle, key, step):
        k = _enc(key, "image key")
        if self.data is not None:
            _check(self._fn("wb_log_image")(handle, k, self.data, len(self.data), self.caption, step),
                   "wb_log_image %s" % key)
        else:
            _check(self._fn("wb_log_image_rgb")(handle, k, self.rgb, self.width, self.height, self.caption, step),
                   "wb_log_image_rgb %s" % key)


class Table(_Media):
    """A small table for run.log: column names and rows of numbers, strings,
    booleans or None.

        run.log({"predictions": wb.Table(columns=["id", "label", "p"], data=[[0, "shirt", 0.93]])})
    """

    __slots__ = ("json",)

    def __init__(self, columns, data):
        try:
            self.json = json.dumps({"columns": list(columns), "data": [list(r) for r in data]}, allow_nan=False,
                                   separators=(",", ":"))
        except ValueError as e:  # NaN or Inf in a cell: not JSON
            raise Error(EINVAL, "table: %s" % e)
        except TypeError as e:
            raise TypeError("table cells must be numbers, strings, booleans or None: %s" % e)

    def _log(self, handle, key, step):
        _check(self._fn("wb_log_table")(handle, _enc(key, "table key"), _enc(self.json, "table"), step),
               "wb_log_table %s" % key)


def _doubles(seq):
    """Any sequence of numbers, a numpy array or a torch tensor -> array('d')."""
    if hasattr(seq, "detach") and hasattr(seq, "numpy"):  # a torch tensor
        seq = seq.detach().cpu().double().reshape(-1).numpy()
    if hasattr(seq, "__array_interface__"):  # numpy: one copy in C, not per element
        seq = seq.astype("float64", copy=False).reshape(-1)
        out = array.array("d")
        out.frombytes(seq.tobytes())
        return out
    return array.array("d", (float(v) for v in seq))


class _Layout:
    """A key set of run.log, encoded once. A call copies the template
    [key0 pointer, value0, key1 pointer, value1, ...], puts the values in
    with one slice assignment and packs it with one struct.pack into the
    bytes of a wb_metric array (struct {const char *key; double value;})
    that wb_log reads. Nothing mutable is shared between calls, so threads
    may log concurrently."""

    __slots__ = ("keep", "packer", "args", "n", "n_c")

    def __init__(self, keys):
        self.n = len(keys)
        self.n_c = _lib.ctypes.c_size_t(self.n)
        self.keep = [_lib.ctypes.create_string_buffer(_enc(k, "metric key")) for k in keys]
        self.packer = struct.Struct("@" + "Pd" * self.n)
        assert self.packer.size == _lib.ctypes.sizeof(_lib.Metric) * self.n
        self.args = [0.0] * (2 * self.n)
        self.args[0::2] = [_lib.ctypes.addressof(b) for b in self.keep]


class _Summary:
    """run.summary: explicit summary values (numbers or strings) that win
    over the summary the server computes from the logged metrics. Nested
    dicts are flattened with "/" like run.log keys. Reading gives back what
    this process set."""

    def __init__(self, r):
        self._run = r
        self._d = {}

    def __setitem__(self, key, value):
        if isinstance(value, dict):
            self.update({key: value})
            return
        h = self._run._handle("summary")
        k = _enc(key, "summary key")
        if isinstance(value, str):
            _check(_lib.wb_summary_set_string(h, k, _enc(value, "summary value")), "wb_summary_set_string %s" % key)
        else:
            try:
                x = float(value)
            except (TypeError, ValueError):
                raise TypeError("summary %r must be a number or a str, not %s" % (key, type(value).__name__))
            _check(_lib.wb_summary_set_double(h, k, x), "wb_summary_set_double %s" % key)
        self._d[key] = value

    def update(self, d):
        for k, v in _flatten(d, "/").items():
            self[k] = v

    def __getitem__(self, key):
        return self._d[key]

    def __contains__(self, key):
        return key in self._d

    def __iter__(self):
        return iter(self._d)

    def __len__(self):
        return len(self._d)

    def __repr__(self):
        return "Summary(%r)" % self._d


class _Config:
    """run.config: hyperparameters. Keys are dotted paths; nested dicts are
    flattened with "." ({"optimizer": {"lr": 0.1}} -> "optimizer.lr"). bool,
    int (64-bit), float and str keep their types; anything else (lists,
    tuples, None, ints past 64 bits) is stored as its JSON text. Reading
    asks libwb, so it returns what the run holds, resumed runs included."""

    def __init__(self, r):
        self._run = r
        self._keys = []

    def __setitem__(self, key, value):
        if isinstance(value, dict):
            self.update({key: value})
            return
        h = self._run._handle("config")
        k = _enc(key, "config key")
        if isinstance(value, bool):
            rc = _lib.wb_config_set_bool(h, k, 1 if value else 0)
        elif isinstance(value, int) and _INT64_MIN <= value <= _INT64_MAX:
            rc = _lib.wb_config_set_int(h, k, value)
        elif isinstance(value, float):
            rc = _lib.wb_config_set_double(h, k, value)
        elif isinstance(value, str):
            rc = _lib.wb_config_set_string(h, k, _enc(value, "config value"))
        elif hasattr(value, "dtype") and hasattr(value, "item"):  # numpy / torch scalar
            self[key] = value.item()
            return
        else:
            text = json.dumps(value, default=str, allow_nan=True)
            rc = _lib.wb_config_set_string(h, k, _enc(text, "config value"))
        _check(rc, "config %s" % key)
        if key not in self._keys:
            self._keys.append(key)

    def update(self, d):
        if not isinstance(d, dict):
            d = vars(d)  # argparse.Namespace and the like
        for k, v in _flatten(d, ".").items():
            self[k] = v

    def __getitem__(self, key):
        h = self._run._handle("config")
        k = _enc(key, "config key")
        i64 = _lib.ctypes.c_int64()
        rc = _lib.wb_config_get_int(h, k, _lib.ctypes.byref(i64))
        if rc == 0:
            return i64.value
        d = _lib.ctypes.c_double()
        if rc == ETYPE and _lib.wb_config_get_double(h, k, _lib.ctypes.byref(d)) == 0:
            return d.value
        b = _lib.ctypes.c_int()
        if rc == ETYPE and _lib.wb_config_get_bool(h, k, _lib.ctypes.byref(b)) == 0:
            return bool(b.value)
        s = _lib.ctypes.c_char_p()
        if rc == ETYPE and _lib.wb_config_get_string(h, k, _lib.ctypes.byref(s)) == 0:
            return s.value.decode("utf-8")
        if rc == ENOTFOUND:
            raise KeyError(key)
        return _check(rc, "config %s" % key)

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key):
        return self.get(key, _MISSING) is not _MISSING

    def keys(self):
        return list(self._keys)

    def as_dict(self):
        return {k: self[k] for k in self._keys}

    def __repr__(self):
        return "Config(%r)" % self.as_dict()


_MISSING = object()


class Run:
    """A run started by wb.init(). Use as a context manager, or call
    finish() (an unfinished run is finished at interpreter exit)."""

    def __init__(self, handle):
        self._h = handle
        self._hv = _lib.ctypes.c_void_p(handle)  # the handle as run.log passes it
        self._lock = threading.Lock()
        self._layouts = {}
        self._pending = None  # histograms of wb.watch waiting for the next log() step
        self._watches = []
        self.summary = _Summary(self)
        self.config = _Config(self)
        self.id = _lib.wb_run_id(handle).decode()
        self.name = _lib.wb_run_name(handle).decode()
        self.url = _lib.wb_run_url(handle).decode()
        self.dir = _lib.wb_run_dir(handle).decode()
        parts = self.url.rsplit("/", 4)  # <base>/<entity>/<project>/runs/<id>
        self.entity, self.project = (parts[1], parts[2]) if len(parts) == 5 else (None, None)

    def _handle(self, what):
        h = self._h
        if h is None:
            raise Error(ESTATE, "%s on a finished run" % what)
        return h

    @property
    def step(self):
        """The last step logged, -1 before the first log()."""
        return _lib.wb_run_step(self._handle("step"))

    @property
    def dropped(self):
        return _lib.wb_run_dropped(self._handle("dropped"))

    def should_stop(self):
        """True once the server said this run should stop (a sweep's early
        stopping decided its trial is not worth finishing): save what you
        need, finish and return. Reads a flag that libwb's uploader sets from
        the server's answers; no request, cheap enough for every step."""
        if _lib.wb_run_should_stop is None:
            raise Error(ESTATE, "this libwb has no wb_run_should_stop")
        return _lib.wb_run_should_stop(self._handle("should_stop")) != 0

    def log(self, data, step=None):
        """Log the numbers of data (a dict; nested dicts are flattened with
        "/", {"train": {"loss": x}} -> "train/loss") at one step: step=None
        takes the next step, an int >= the last step logs there. Values are
        anything float() takes (int, float, bool, numpy and 0-d torch
        tensors), wb.Histogram, wb.Image or wb.Table. All the numbers go to
        libwb in one wb_log call; each rich value in its own call, at the
        same step."""
        hv = self._hv
        lay = self._layouts.get(tuple(data)) if self._pending is None else None
        if lay is None or hv is None:
            return self._log_slow(data, step)
        args = lay.args.copy()
        try:
            args[1::2] = data.values()
            packed = lay.packer.pack(*args)
            if step is None:
                cstep = _STEP_AUTO
            elif step >= 0:
                cstep = _lib.ctypes.c_int64(step)
            else:
                return self._log_slow(data, step)  # says why it is refused
            rc = _lib.wb_log_fast(hv, packed, lay.n_c, cstep)
        except (struct.error, TypeError):
            return self._log_slow(data, step)
        if rc:
            _check(rc, "wb_log")

    def _log_slow(self, data, step):
        """log() for a new key set, nested dicts, histograms, bad values."""
        h = self._handle("log")
        if not isinstance(data, dict):
            raise TypeError("log takes a dict, not %s" % type(data).__name__)
        if step is not None:
            if isinstance(step, bool) or not isinstance(step, int):
                step = int(step) if hasattr(step, "__index__") else None
                if step is None:
                    raise TypeError("step must be an int")
            if step < 0:
                raise Error(EINVAL, "step %d is negative" % step)
        flat = _flatten(data, "/")
        numbers, hists = {}, {}
        for k, v in flat.items():
            if isinstance(v, _Media):
                hists[k] = v
            elif isinstance(v, (str, bytes)) or v is None:
                raise TypeError("log value of %r must be a number, wb.Histogram, wb.Image or wb.Table, not %s"
                                % (k, type(v).__name__))
            else:
                try:
                    numbers[k] = float(v)
                except (TypeError, ValueError):
                    raise TypeError("log value of %r must be a number, wb.Histogram, wb.Image or wb.Table, "
                                    "not %s" % (k, type(v).__name__))
        pending, self._pending = self._pending, None
        if pending:
            for k, v in pending.items():
                hists.setdefault(k, v)
        if hists and step is None:
            step = _lib.wb_run_step(h) + 1  # the step an automatic log takes; all of it goes there
        if numbers:
            keys = tuple(numbers)
            lay = self._layouts.get(keys)
            if lay is None:
                if len(self._layouts) >= _MAX_LAYOUTS:
                    self._layouts.clear()
                lay = self._layouts[keys] = _Layout(keys)
            args = lay.args.copy()
            args[1::2] = numbers.values()
            _check(_lib.wb_log(h, lay.packer.pack(*args), lay.n, -1 if step is None else step), "wb_log")
        for k, v in hists.items():
            v._log(h, k, step)

    def _flush_pending(self, h=None):
        """Log the histograms of wb.watch that no log() call took, at the
        last step logged."""
        h = h or self._h
        pending, self._pending = self._pending, None
        if h is None or not pending:
            return
        step = max(_lib.wb_run_step(h), 0)
        for k, v in pending.items():
            v._log(h, k, step)

    def define_metric(self, key_or_glob, step_metric=None, summary=None):
        """Custom x-axis and summaries: run.define_metric("val/*", step_metric="epoch",
        summary="max"); summary is "last", "min", "max", "mean", "none" or a list of them."""
        flags = {"last": 1, "min": 2, "max": 4, "mean": 8, "none": 16}
        bits = 0
        for s in ([summary] if isinstance(summary, str) else (summary or [])):
            if s not in flags:
                raise Error(EINVAL, "unknown summary %r" % s)
            bits |= flags[s]
        _check(_lib.wb_define_metric(self._handle("define_metric"), _enc(key_or_glob, "metric key"),
                                     None if step_metric is None else _enc(step_metric, "step metric"), bits),
               "wb_define_metric %s" % key_or_glob)

    def alert(self, title, text="", level="info"):
        """Send an alert (level "info", "warn" or "error") through the
        server's notification channels."""
        levels = {"info": 0, "warn": 1, "error": 2}  # wb_alert_level
        if level not in levels:
            raise Error(EINVAL, "alert level must be one of info, warn, error, not %r" % (level,))
        if _lib.wb_alert is None:
            raise Error(ESTATE, "this libwb has no wb_alert (built without notifications)")
        _check(_lib.wb_alert(self._handle("alert"), levels[level], _enc(title, "alert title"),
                             _enc(text, "alert text")), "wb_alert")

    def finish(self, exit_code=0):
        """End the run (exit_code 0: finished, else failed) and wait, within
        the run's finish_timeout_ms, for the upload. Raises wb.Error when
        not everything reached the server (it stays in the run log for
        `wb sync`); the run is finished either way. Finishing twice does
        nothing."""
        global run
        with self._lock:
            h, self._h, self._hv = self._h, None, None
        if h is None:
            return
        for w in self._watches:
            w.remove()
        self._watches = []
        err = None
        try:
            self._flush_pending(h)
        except Error as e:
            err = e
        if run is self:
            run = None
        _open_runs.discard(self)
        rc = _lib.wb_finish(h, int(exit_code))
        _check(rc, "wb_finish")
        if err is not None:
            raise err

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.finish(0)
            return False
        try:
            self.finish(1)
        except Error as e:  # never hide the exception that ended the block
            sys.stderr.write("wb: %s\n" % e)
        return False

    def __repr__(self):
        return "<wb.Run %s %s%s>" % (self.id, self.url, "" if self._h else " finished")


_open_runs = set()
_exit_code = [0]


def _excepthook(tp, value, tb):
    _exit_code[0] = 1
    _prev_excepthook(tp, value, tb)


_prev_excepthook = sys.excepthook
sys.excepthook = _excepthook


@atexit.register
def _finish_open_runs():
    for r in list(_open_runs):
        try:
            r.finish(_exit_code[0])
        except Error as e:
            sys.stderr.write("wb: %s\n" % e)


def init(project=None, config=None, name=None, entity=None, group=None, job_type=None, notes=None, tags=None,
         id=None, mode=None, base_url=None, api_key=None, dir=None, disable_git=None, system_sample_ms=None,
         finish_timeout_ms=None, heartbeat_ms=None, buffer_bytes=None, ca_file=None):
    """Start a run (or resume run `id`) and return it; also sets wb.run.
    Every argument left None falls back to its WB_* environment variable,
    then the settings file, then libwb's default (see sdk/include/wb.h).
    tags: a list of str or a comma-separated str. mode: "online",
    "offline" or "disabled". config: a dict (nested dicts become dotted
    keys) or an argparse.Namespace."""
    global run
    o = _lib.InitOptions()
    o.version = _lib.INIT_OPTIONS_VERSION
    if isinstance(tags, (list, tuple)):
        tags = ",".join(tags)
    for field, value in (("project", project), ("entity", entity), ("name", name), ("group", group),
                         ("job_type", job_type), ("notes", notes), ("tags", tags), ("run_id", id),
                         ("base_url", base_url), ("api_key", api_key), ("dir", dir), ("ca_file", ca_file)):
        if value is not None:
            setattr(o, field, _enc(str(value) if field == "dir" else value, field))
    if mode not in _MODES:
        raise Error(EINVAL, "mode must be online, offline or disabled, not %r" % (mode,))
    o.mode = _MODES[mode]
    if disable_git is not None:
        o.disable_git = 1 if disable_git else 0
    if system_sample_ms is not None:
        o.system_sample_ms = system_sample_ms if system_sample_ms != 0 else -1
    for field, value in (("finish_timeout_ms", finish_timeout_ms), ("heartbeat_ms", heartbeat_ms),
                         ("buffer_bytes", buffer_bytes)):
        if value is not None:
            setattr(o, field, value)
    h = _lib.c_run_p()
    _check(_lib.wb_init(_lib.ctypes.byref(h), _lib.ctypes.byref(o)), "wb_init")
    r = Run(h.value)
    _open_runs.add(r)
    run = r
    if config is not None:
        try:
            r.config.update(config)
        except BaseException:
            r.finish(1)
            raise
    return r


def _current(what):
    if run is None:
        raise Error(ESTATE, "%s before wb.init()" % what)
    return run


def log(data, step=None):
    """wb.run.log(data, step)."""
    _current("wb.log").log(data, step)


def alert(title, text="", level="info"):
    """wb.run.alert(title, text, level)."""
    _current("wb.alert").alert(title, text, level)


def finish(exit_code=0):
    """Finish wb.run, if any."""
    if run is not None:
        run.finish(exit_code)


def watch(model, log="gradients", log_freq=1000, bins=64, run=None):
    """Log histograms of a PyTorch model's gradients ("gradients"), weights
    ("parameters") or both ("all") every log_freq training steps (forward
    passes in training mode) to `run` (default wb.run). See _watch.py."""
    from . import _watch

    return _watch.watch(model, run if run is not None else _current("wb.watch"), log, log_freq, bins)


def unwatch(model=None):
    """Remove the hooks wb.watch put on model (all watched models if None)."""
    from . import _watch

    _watch.unwatch(model)

