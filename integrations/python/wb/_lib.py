"""Loading libwb and declaring the C functions the package calls.

libwb is found, in this order:
  1. $WB_LIBRARY, the path of a libwb.so (a build tree's build/sdk/libwb.so);
  2. _libpath.LIBDIR, written by `cmake --install` next to this file: the
     installed libwb relative to the package (<prefix>/lib/python3/dist-packages/wb
     -> <prefix>/<libdir>);
  3. a build tree next to the source checkout (<repo>/build/sdk/libwb.so);
  4. the dynamic linker's search path (libwb.so.0 from ldconfig).

Two handles are opened on the same library. Calls that may block (wb_init,
wb_finish, anything touching the disk or the network) go through a CDLL,
which releases the GIL around the call. wb_log, which only copies into a
ring buffer (~20 ns a point), goes through a PyDLL, which keeps the GIL:
releasing and re-taking it would cost more than the call itself. When the
buffer stays full, wb_log waits for the writer (backpressure, at most 1 s);
the writer is a C thread and never needs the GIL, so this cannot deadlock.
"""

import ctypes
import ctypes.util
import os

_HERE = os.path.dirname(os.path.abspath(__file__))


class Metric(ctypes.Structure):
    _fields_ = [("key", ctypes.c_char_p), ("value", ctypes.c_double)]


class InitOptions(ctypes.Structure):
    """wb_init_options, version 2 (sdk/include/wb.h)."""

    _fields_ = [
        ("version", ctypes.c_uint),
        ("project", ctypes.c_char_p),
        ("entity", ctypes.c_char_p),
        ("name", ctypes.c_char_p),
        ("group", ctypes.c_char_p),
        ("job_type", ctypes.c_char_p),
        ("notes", ctypes.c_char_p),
        ("tags", ctypes.c_char_p),
        ("run_id", ctypes.c_char_p),
        ("mode", ctypes.c_int),
        ("base_url", ctypes.c_char_p),
        ("api_key", ctypes.c_char_p),
        ("dir", ctypes.c_char_p),
        ("buffer_bytes", ctypes.c_size_t),
        ("finish_timeout_ms", ctypes.c_uint),
        ("heartbeat_ms", ctypes.c_uint),
        ("disable_git", ctypes.c_int),
        ("git_patch_max", ctypes.c_size_t),
        ("system_sample_ms", ctypes.c_int),
        ("ca_file", ctypes.c_char_p),
    ]


INIT_OPTIONS_VERSION = 2
STEP_AUTO = -1


def _candidates():
    env = os.environ.get("WB_LIBRARY")
    if env:
        return [env]
    out = []
    try:
        from . import _libpath  # written at install time

        out.append(os.path.normpath(os.path.join(_HERE, _libpath.LIBDIR, "libwb.so.0")))
    except ImportError:
        pass
    out.append(os.path.normpath(os.path.join(_HERE, "..", "..", "..", "build", "sdk", "libwb.so")))
    found = ctypes.util.find_library("wb")
    out.append(found or "libwb.so.0")
    return out


def _open():
    errors = []
    for path in _candidates():
        if os.sep in path and not os.path.exists(path):
            errors.append(path + ": no such file")
            continue
        try:
            return path, ctypes.CDLL(path), ctypes.PyDLL(path)
        except OSError as e:
            errors.append(str(e))
    raise ImportError("wb: cannot load libwb (set WB_LIBRARY to its path): " + "; ".join(errors))


path, lib, _pylib = _open()

c_run_p = ctypes.c_void_p
_I = ctypes.c_int
_S = ctypes.c_char_p
_D = ctypes.c_double
_I64 = ctypes.c_int64


def _decl(name, restype, *argtypes, handle=None):
    f = getattr(handle or lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


wb_strerror = _decl("wb_strerror", _S, _I)
wb_errmsg = _decl("wb_errmsg", _S)
wb_version = _decl("wb_version", _S)
wb_init = _decl("wb_init", _I, ctypes.POINTER(c_run_p), ctypes.POINTER(InitOptions))
wb_finish = _decl("wb_finish", _I, c_run_p, _I)
wb_run_id = _decl("wb_run_id", _S, c_run_p)
wb_run_name = _decl("wb_run_name", _S, c_run_p)
wb_run_url = _decl("wb_run_url", _S, c_run_p)
wb_run_dir = _decl("wb_run_dir", _S, c_run_p)
wb_run_step = _decl("wb_run_step", _I64, c_run_p)
wb_run_dropped = _decl("wb_run_dropped", ctypes.c_uint64, c_run_p)
wb_config_set_int = _decl("wb_config_set_int", _I, c_run_p, _S, _I64)
wb_config_set_double = _decl("wb_config_set_double", _I, c_run_p, _S, _D)
wb_config_set_bool = _decl("wb_config_set_bool", _I, c_run_p, _S, _I)
wb_config_set_string = _decl("wb_config_set_string", _I, c_run_p, _S, _S)
wb_config_get_int = _decl("wb_config_get_int", _I, c_run_p, _S, ctypes.POINTER(_I64))
wb_config_get_double = _decl("wb_config_get_double", _I, c_run_p, _S, ctypes.POINTER(_D))
wb_config_get_bool = _decl("wb_config_get_bool", _I, c_run_p, _S, ctypes.POINTER(_I))
wb_config_get_string = _decl("wb_config_get_string", _I, c_run_p, _S, ctypes.POINTER(_S))
wb_summary_set_double = _decl("wb_summary_set_double", _I, c_run_p, _S, _D)
wb_summary_set_string = _decl("wb_summary_set_string", _I, c_run_p, _S, _S)
wb_define_metric = _decl("wb_define_metric", _I, c_run_p, _S, _S, ctypes.c_uint)
wb_log = _decl("wb_log", _I, c_run_p, ctypes.c_void_p, ctypes.c_size_t, _I64)
# The hot path (Run.log): through the PyDLL handle, and without argtypes,
# so the caller passes ready-made ctypes objects (c_void_p, bytes,
# c_size_t, c_int64) and ctypes converts nothing: ~120 ns a call instead of
# ~250 ns.
wb_log_fast = _pylib.wb_log
wb_log_fast.restype = _I
wb_log_fast.argtypes = None


def _optional(name, restype, *argtypes):
    """A function only newer libwb builds have: None when it is absent."""
    if not hasattr(lib, name):
        return None
    return _decl(name, restype, *argtypes)


_DP = ctypes.c_void_p  # const double *, passed as an address
wb_log_histogram = _optional("wb_log_histogram", _I, c_run_p, _S, _DP, ctypes.c_size_t, _I64)
wb_log_histogram_bins = _optional("wb_log_histogram_bins", _I, c_run_p, _S, _DP, _DP, ctypes.c_size_t, _I64)
wb_log_image = _optional("wb_log_image", _I, c_run_p, _S, ctypes.c_char_p, ctypes.c_size_t, _S, _I64)
wb_log_image_rgb = _optional("wb_log_image_rgb", _I, c_run_p, _S, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint32,
                             _S, _I64)
wb_log_table = _optional("wb_log_table", _I, c_run_p, _S, _S, _I64)
wb_run_should_stop = _optional("wb_run_should_stop", _I, c_run_p)
wb_alert = _optional("wb_alert", _I, c_run_p, _I, _S, _S)
