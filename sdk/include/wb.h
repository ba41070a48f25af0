/*
 * wb.h — the public API of libwb, the wb experiment-tracking SDK.
 *
 * This header is the whole published API: anything not declared here is
 * private and may change. It compiles as C11 and C++ with -Wall -Wextra
 * -pedantic -Werror.
 *
 * Model
 * -----
 * wb_run_init() starts (or resumes) a run and returns an opaque handle. Config
 * setters record hyperparameters, wb_run_log() records metrics at a step, and
 * wb_run_finish() ends the run. The calls of the training loop (config,
 * wb_run_log, summaries, alerts, histograms, images, tables) only copy into
 * memory; a background writer thread appends every record to an
 * append-only, checksummed, sequence-numbered run log under
 * <dir>/run-<id>/ and a background uploader streams that log to the server.
 * Nothing is lost when the network, the server or the trainer dies:
 * `wb sync <dir>/run-<id>` uploads what is left. The calls that move files
 * block their caller while they do: wb_run_log_artifact and wb_run_save
 * upload, wb_run_use_artifact downloads, wb_run_finish waits (bounded) for
 * the uploader, and wb_run_init may ask the server where a resumed run
 * stopped.
 *
 * Names
 * -----
 * wb_<object>_<verb>[_<what>]: the object is the handle a call acts on
 * (run, config, summary, artifact), e.g. wb_run_log_image,
 * wb_config_set_int, wb_artifact_add_file; an accessor is
 * wb_<object>_<attribute> (wb_run_id). Calls on the library itself take no
 * object: wb_version, wb_strerror, wb_errmsg, wb_sync. The names of
 * version 0.1 (wb_run_init, wb_run_log, wb_run_finish, ...) stay, each the same call as
 * its new name: see "Earlier names" at the end.
 *
 * Precedence
 * ----------
 * A field set in wb_init_options wins over its environment variable, which
 * wins over the settings file, which wins over the built-in default. To
 * give a default that the environment may still override, leave the field
 * NULL and setenv() the variable with overwrite = 0 before wb_run_init.
 *
 * What the SDK prints
 * -------------------
 * Only warnings a user must act on, one line each on stderr prefixed "wb: ":
 * a full buffer (once per run), a run log write error, an upload the server
 * refused, and from wb_run_finish the `wb sync` command that uploads what did
 * not reach the server in time.
 *
 * Errors
 * ------
 * Every function that can fail returns an int: WB_OK (0) or a negative
 * wb_error code. wb_strerror() gives static text for a code and
 * wb_errmsg() the last detailed one-line message of the calling thread.
 * The SDK never aborts the trainer and never exits the process.
 *
 * Threads
 * -------
 * A wb_run handle may be shared by any number of threads: every function
 * taking a wb_run is thread-safe, except wb_run_finish(), after which the
 * handle is freed and must not be used by any thread.
 */
#ifndef WB_H
#define WB_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && __GNUC__ >= 4
#define WB_EXTERN __attribute__((visibility("default")))
#else
#define WB_EXTERN
#endif

#define WB_VERSION_MAJOR 0
#define WB_VERSION_MINOR 1
#define WB_VERSION_PATCH 0
#define WB_VERSION "0.1.0"

/* Error codes. Never renumbered; new codes are appended. */
typedef enum wb_error {
	WB_OK = 0,
	WB_EINVAL = -1,    /* an argument is invalid (NULL, bad name, bad key, decreasing step) */
	WB_ENOMEM = -2,    /* out of memory */
	WB_EIO = -3,       /* local disk error (run log) */
	WB_ENET = -4,      /* network error talking to the server */
	WB_EAUTH = -5,     /* the server refused the API key */
	WB_ESERVER = -6,   /* the server answered with an error */
	WB_EFULL = -7,     /* the in-memory buffer stayed full: the record was dropped */
	WB_ENOTFOUND = -8, /* no such key, run or file */
	WB_ETYPE = -9,     /* a config value exists with another type */
	WB_ESTATE = -10,   /* the call is not valid in the run's state */
	WB_ETIMEOUT = -11, /* a bounded wait ran out (data stays in the run log) */
	WB_ECORRUPT = -12, /* a run log or message failed its checksum or framing */
	WB_ERANGE = -13    /* a caller's buffer is too small (the size needed is reported) */
} wb_error;

/* Static, lowercase, one-line text for an error code. Never NULL. */
WB_EXTERN const char *wb_strerror(int code);

/* The last detailed error message set on the calling thread by a failing
 * wb_ function ("" if none). Only failures set it; successful calls and
 * wb_strerror, wb_errmsg and wb_version leave it alone, so
 * fprintf(stderr, "%s: %s", wb_strerror(rc), wb_errmsg()) is safe. The
 * pointer is to thread-local storage, valid for the thread's lifetime. */
WB_EXTERN const char *wb_errmsg(void);

/* The library version string, e.g. "0.1.0". */
WB_EXTERN const char *wb_version(void);

typedef struct wb_run wb_run;

typedef enum wb_mode {
	WB_MODE_DEFAULT = 0,  /* from WB_MODE, else online */
	WB_MODE_ONLINE = 1,   /* write the run log and stream it to the server */
	WB_MODE_OFFLINE = 2,  /* only write the run log; `wb sync` uploads it later */
	WB_MODE_DISABLED = 3  /* every call returns WB_OK and does nothing; accessors
			       * return "", config getters WB_ENOTFOUND */
} wb_mode;

/*
 * Options of wb_run_init(). Initialise with WB_INIT_OPTIONS_INIT so that fields
 * added in later versions get their defaults. Every string may be NULL,
 * meaning: take it from the environment variable named, else the default.
 * Strings are copied; the caller keeps ownership.
 *
 * Names (entity, project, run_id, group) match [A-Za-z0-9_.-]{1,64} and do
 * not start with '.'. name, job_type, notes and tags are UTF-8 (else
 * wb_run_init returns WB_EINVAL: the server would refuse the run's record).
 */
typedef struct wb_init_options {
	unsigned int version;       /* WB_INIT_OPTIONS_VERSION */
	const char *project;        /* WB_PROJECT, else "uncategorized" */
	const char *entity;         /* WB_ENTITY, else the API key owner's entity (see wb_run_url),
				     * else (no key) the login user name */
	const char *name;           /* WB_NAME, else a readable "adjective-noun-N" */
	const char *group;          /* WB_RUN_GROUP, else none */
	const char *job_type;       /* WB_JOB_TYPE, else none */
	const char *notes;          /* WB_NOTES, else none */
	const char *tags;           /* WB_TAGS: comma-separated, e.g. "baseline,fp16" */
	const char *run_id;         /* WB_RUN_ID: resume this run; else a new random id */
	wb_mode mode;               /* WB_MODE: "online" | "offline" | "disabled" */
	const char *base_url;       /* WB_BASE_URL, else the settings file, else http://127.0.0.1:8080 */
	const char *api_key;        /* WB_API_KEY, else the settings file */
	const char *dir;            /* WB_DIR: parent of run-<id>/, else "./wb" */
	size_t buffer_bytes;        /* WB_BUFFER_BYTES: in-memory buffer, default 8 MiB */
	unsigned int finish_timeout_ms; /* WB_FINISH_TIMEOUT_MS: upload wait in wb_run_finish, default 30000 */
	unsigned int heartbeat_ms;  /* WB_HEARTBEAT_MS: default 10000 */
	/* since version 2 */
	int disable_git;            /* WB_DISABLE_GIT=1: do not capture the git commit and patch */
	size_t git_patch_max;       /* WB_GIT_PATCH_MAX: bytes of patch kept, default 10 MiB */
	int system_sample_ms;       /* system metrics period; 0: WB_SYSTEM_SAMPLE_MS, else 10000;
				     * < 0: off (so does WB_SYSTEM_SAMPLE_MS=0) */
	const char *ca_file;        /* WB_CA_FILE: PEM CA bundle to verify an https server */
} wb_init_options;

#define WB_INIT_OPTIONS_VERSION 2
#define WB_INIT_OPTIONS_INIT                                                                                   \
	{WB_INIT_OPTIONS_VERSION, 0, 0, 0, 0, 0, 0, 0, 0, WB_MODE_DEFAULT, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}

/*
 * Start a run (or resume the run named by run_id). On success *out is a
 * new handle, owned by the caller until wb_run_finish(). opts may be NULL for
 * all defaults. wb_run_init does no network I/O unless it resumes a run whose
 * run log is not on this machine (then a bounded request asks the server
 * where the run stopped). Returns WB_OK, WB_EINVAL (bad option), WB_EIO
 * (the run directory cannot be created) or WB_ENOMEM.
 */
WB_EXTERN int wb_run_init(wb_run **out, const wb_init_options *opts);

/*
 * End the run: record exit_code (0 = finished, anything else = failed),
 * flush the run log, wait at most finish_timeout_ms for the uploader to get
 * everything acknowledged, stop the background threads and free the handle.
 * Returns WB_OK when everything reached the server (or the run is offline
 * and on disk), WB_ETIMEOUT when the wait ran out, WB_EAUTH or WB_ESERVER
 * when the server refused the upload earlier, WB_EIO when the run log
 * could not be written. In every case but WB_EIO the data is in the run log
 * for `wb sync`. Accepts NULL (returns WB_OK). Never hangs.
 */
WB_EXTERN int wb_run_finish(wb_run *run, int exit_code);

/* The run's id, e.g. "k3x9q2ab". Valid until wb_run_finish(). */
WB_EXTERN const char *wb_run_id(const wb_run *run);
/* The run's human-readable name. Valid until wb_run_finish(). */
WB_EXTERN const char *wb_run_name(const wb_run *run);
/* The run's page, <base_url>/<entity>/<project>/runs/<id>. Valid until
 * wb_run_finish(). For an offline run the page exists once `wb sync` ran.
 * "" when the entity is not known yet: none was given, and neither the
 * settings file (`wb login` records it) nor the server, asked for at most
 * 2 s at wb_run_init (never in offline mode), said who owns the API key; the
 * run then goes to the owner's entity when its upload (or `wb sync`)
 * learns it. */
WB_EXTERN const char *wb_run_url(const wb_run *run);
/* The run's local directory, <dir>/run-<id>. Valid until wb_run_finish(). */
WB_EXTERN const char *wb_run_dir(const wb_run *run);

/*
 * Config (hyperparameters). Keys are dotted paths ("optimizer.lr"), each
 * part 1..64 bytes, no control characters; keys and string values are UTF-8
 * (else WB_EINVAL: the server refuses anything else). Setting a key replaces its value
 * (and its type). Getters return WB_ENOTFOUND for a missing key and
 * WB_ETYPE when the key holds another type (an int64 may be read as double).
 *
 * wb_config_copy_string copies the value into buf[cap], NUL-terminated, and
 * sets *len (may be NULL) to its length without the NUL; when cap is too
 * small it returns WB_ERANGE, writes nothing and *len says what is needed.
 * wb_config_get_string, the earlier form, hands out a pointer instead; it
 * stays valid until wb_run_finish, even when another thread sets the key
 * again (the old value is kept until then), but shows the value as it was.
 */
WB_EXTERN int wb_config_set_int(wb_run *run, const char *key, int64_t value);
WB_EXTERN int wb_config_set_double(wb_run *run, const char *key, double value);
WB_EXTERN int wb_config_set_bool(wb_run *run, const char *key, int value);
WB_EXTERN int wb_config_set_string(wb_run *run, const char *key, const char *value);
WB_EXTERN int wb_config_get_int(wb_run *run, const char *key, int64_t *out);
WB_EXTERN int wb_config_get_double(wb_run *run, const char *key, double *out);
WB_EXTERN int wb_config_get_bool(wb_run *run, const char *key, int *out);
WB_EXTERN int wb_config_copy_string(wb_run *run, const char *key, char *buf, size_t cap, size_t *len);
WB_EXTERN int wb_config_get_string(wb_run *run, const char *key, const char **out);

/* One metric point: key (1..255 bytes, no control characters) and value.
 * NaN and +-Inf are kept bit-exactly. */
typedef struct wb_metric {
	const char *key;
	double value;
} wb_metric;

/* Pass as step to wb_run_log: use the run's next step (last step + 1; 0 first). */
#define WB_STEP_AUTO INT64_C(-1)

/*
 * Log n metric points at one step. step >= 0 is explicit and must not be
 * smaller than the last step logged (equal is fine: several calls may log
 * at one step); WB_STEP_AUTO takes the next step. The call copies into the
 * run's in-memory buffer and returns: no I/O, no lock held across I/O, no
 * allocation. Keys under "system/" are reserved for the system-metrics
 * sampler. Returns WB_OK, WB_EINVAL (bad or reserved key, decreasing step,
 * n == 0 or n > 4096), WB_EFULL (the buffer stayed full for 1 s: the record was
 * dropped and counted, and a warning is printed once) or WB_ESTATE.
 */
WB_EXTERN int wb_run_log(wb_run *run, const wb_metric *metrics, size_t n, int64_t step);

/* Type-safe short form: WB_LOG(run, WB_STEP_AUTO, {"loss", loss}, {"acc", acc}); */
#define WB_LOG(run, step, ...)                                                   \
	wb_run_log((run), (const wb_metric[]){__VA_ARGS__},                          \
	       sizeof((const wb_metric[]){__VA_ARGS__}) / sizeof(wb_metric), (step))

/* The last step logged, or -1 before the first wb_run_log. */
WB_EXTERN int64_t wb_run_step(const wb_run *run);

/* Records dropped because the buffer stayed full (0 in a healthy run). */
WB_EXTERN uint64_t wb_run_dropped(const wb_run *run);

/*
 * Early stopping: 1 once the server said this run should stop, else 0.
 * When the run is a trial of a sweep with early_terminate, the sweep's
 * controller may decide that the trial is not worth finishing; the
 * decision comes back on the answers to the records and heartbeats the
 * run already sends (no request of its own), and from then on this call
 * returns 1, for good. The trainer should then save what it needs, call
 * wb_run_finish and exit 0; one that never asks is ended by its agent
 * (SIGTERM after a grace period). Always 0 offline, disabled, or for a
 * NULL run.
 *
 * Threads: any thread. Cost: one relaxed atomic load (a flag read, a few
 * ns): call it every step. Never blocks, never does I/O.
 */
WB_EXTERN int wb_run_should_stop(const wb_run *run);

/* Summary flags for wb_run_define_metric. The default summary of a metric is its
 * last value. */
#define WB_SUMMARY_LAST 1u
#define WB_SUMMARY_MIN 2u
#define WB_SUMMARY_MAX 4u
#define WB_SUMMARY_MEAN 8u
#define WB_SUMMARY_NONE 16u

/*
 * Describe metrics matching key_or_glob ("val/acc", "val/ *" with a single
 * trailing '*'): step_metric, if not NULL, names the metric used as their
 * x-axis (like "epoch"); summary is an OR of WB_SUMMARY_* (0 keeps the
 * default). Recorded in the run log; the server applies it.
 */
WB_EXTERN int wb_run_define_metric(wb_run *run, const char *key_or_glob, const char *step_metric,
				   unsigned int summary);

/* Set an explicit summary value; it wins over the computed summary of a
 * metric with the same key. Key and string value are UTF-8 (else WB_EINVAL). */
WB_EXTERN int wb_summary_set_double(wb_run *run, const char *key, double value);
WB_EXTERN int wb_summary_set_string(wb_run *run, const char *key, const char *value);

/* Alert levels for wb_run_alert. */
typedef enum wb_alert_level {
	WB_ALERT_INFO = 0,
	WB_ALERT_WARN = 1,
	WB_ALERT_ERROR = 2
} wb_alert_level;

/* Default minimum interval between two alerts with the same title, in seconds. */
#define WB_ALERT_INTERVAL_DEFAULT 300.0

/*
 * Raise an alert from training code: the server sends it to the project's
 * (and the run owner's) webhooks that subscribe to alerts, e.g. a Slack
 * channel. title (1..200 bytes of UTF-8) names the alert; text (may be NULL,
 * at most 3000 bytes of UTF-8) says more. Like every record it goes through the run
 * log, so an alert raised while the server is down arrives when it is back.
 *
 * A loop cannot flood a channel: an alert whose title was raised less than
 * the minimum interval ago (wb_run_set_alert_interval; WB_ALERT_INTERVAL_S;
 * default WB_ALERT_INTERVAL_DEFAULT) is dropped and WB_OK is returned with
 * *nothing* recorded; wb_run_alerts_suppressed counts them. Returns WB_OK,
 * WB_EINVAL (bad level, NULL, oversized or not UTF-8 title/text), WB_EFULL,
 * WB_ENOMEM.
 * Thread-safe.
 */
WB_EXTERN int wb_run_alert(wb_run *run, wb_alert_level level, const char *title, const char *text);

/* Set the minimum interval between alerts of one title (seconds, >= 0; 0: no limit). WB_OK or WB_EINVAL. */
WB_EXTERN int wb_run_set_alert_interval(wb_run *run, double seconds);

/* Alerts dropped by the minimum interval so far. */
WB_EXTERN uint64_t wb_run_alerts_suppressed(const wb_run *run);

/*
 * Rich data: histograms, images and tables. Each call records one value of
 * key at a step, through the run log like every other record (schema/
 * wire.md, records 16-18); the server keeps one value per key and step (a
 * second call at the same step replaces the first). Keys follow the rules
 * of metric keys (and may equal one: histograms, images and tables live
 * apart from metrics and from each other).
 *
 * step: an explicit step >= 0 obeys wb_run_log's rule (not below the last step)
 * and becomes the run's last step. WB_STEP_AUTO attaches the value to the
 * run's current step (the last step logged, 0 before any), so a histogram
 * logged right after a step's wb_run_log lands at that step.
 *
 * These calls do their work (binning, PNG encoding, JSON checking) on the
 * calling thread, allocate, and copy the result into the run's buffer;
 * they never do I/O. A record must fit in half the buffer (buffer_bytes,
 * default 8 MiB). They return WB_OK, WB_EINVAL (bad argument, with the
 * reason in wb_errmsg), WB_ENOMEM, WB_EFULL or WB_ESTATE. The caller keeps
 * ownership of every argument.
 */

/*
 * Histogram of n raw values: the SDK bins them into 64 equal bins between
 * the smallest and the largest finite value (the last bin includes its
 * upper edge; all values equal give one bin [v, v]). NaN, +Inf and -Inf are
 * counted apart, not binned. n >= 1.
 */
WB_EXTERN int wb_run_log_histogram(wb_run *run, const char *key, const double *values, size_t n, int64_t step);

/*
 * Histogram already binned: nbins (1..1024) bins, nbins + 1 finite,
 * non-decreasing edges, and nbins finite counts >= 0 (counts may be
 * fractional, e.g. densities).
 */
WB_EXTERN int wb_run_log_histogram_bins(wb_run *run, const char *key, const double *edges, const double *counts,
					size_t nbins, int64_t step);

/*
 * An encoded PNG or JPEG image of len bytes (1 byte .. 8 MiB, at most
 * 16384 pixels on a side), recognised by its signature; anything else is
 * WB_EINVAL. caption may be NULL; else at most 1024 bytes of UTF-8 without
 * control characters other than tab and newline. The server stores the
 * bytes once per content (SHA-256) and serves them as they were sent.
 */
WB_EXTERN int wb_run_log_image(wb_run *run, const char *key, const void *png_or_jpeg, size_t len, const char *caption,
			       int64_t step);

/*
 * An image from raw pixels: width x height pixels of 3 bytes each (R, G,
 * B), rows top to bottom without padding, encoded here as a PNG (zlib).
 * Otherwise as wb_run_log_image.
 */
WB_EXTERN int wb_run_log_image_rgb(wb_run *run, const char *key, const uint8_t *rgb, uint32_t width, uint32_t height,
				   const char *caption, int64_t step);

/*
 * A small table, given as JSON text (NUL-terminated, at most 1 MiB):
 *   {"columns": ["name", "score"], "data": [["a", 1.5], ["b", null]]}
 * 1..256 distinct column names (strings of 1..255 bytes without control
 * characters), at most 10000 rows, each as long as "columns"; a cell is a
 * number, a string, a boolean or null. Checked here: anything else is
 * WB_EINVAL with the row or column in wb_errmsg.
 */
WB_EXTERN int wb_run_log_table(wb_run *run, const char *key, const char *json, int64_t step);

/*
 * Follow a TensorBoard log directory while the run lasts: a background
 * thread reads the event files under logdir every period_ms (0: 1000) as
 * a TensorBoard writer (tf.summary, torch.utils.tensorboard, tensorboardX)
 * appends to them, and logs their scalars, histograms, PNG/JPEG images and
 * text (as a table, column "text") into this run at their steps, each with
 * its event's wall time. Files in subdirectories belong to this run too:
 * add_scalars("loss", {"train": ...}) series become "loss/train", other
 * subdirectories' tags "<subdirectory>/<tag>" (the rule of
 * `wb tensorboard import`). add_hparams' hyperparameters become the run's
 * config, its metrics keep their tags (a metric below the run's last step
 * becomes the run's summary value). Files are merged by step, so values
 * from several writers are not refused by the step rule for arriving in
 * another order; a value is held at most about 150 s (by its wall time) for
 * a lagging writer. What the run still refuses, and any value skipped,
 * is said on stderr when it happens (the skipped tag and plugin named);
 * wb_run_finish reads once more, logs what is held, stops the thread and
 * prints the totals. One directory per run. Returns WB_OK, WB_EINVAL (not
 * a directory), WB_ESTATE (the run already follows one) or WB_ENOMEM. The
 * offline counterpart is `wb tensorboard import LOGDIR`.
 */
WB_EXTERN int wb_run_follow_tensorboard(wb_run *run, const char *logdir, unsigned int period_ms);

/*
 * Progress of a long call (wb_sync, wb_artifact_upload,
 * wb_artifact_download): what is a static phase name ("uploading",
 * "hashing", "downloading"); done and total count bytes of that phase
 * (total 0: not known yet). A new what starts a new phase, done from 0.
 * The callback runs on the calling thread, after every chunk or batch, so
 * it must be cheap and must not call back into libwb.
 */
typedef struct wb_progress {
	const char *what;
	uint64_t done;
	uint64_t total;
} wb_progress;

typedef void (*wb_progress_fn)(const wb_progress *p, void *arg);

/*
 * Options of wb_sync(). Initialise with WB_SYNC_OPTIONS_INIT. NULL strings
 * come from WB_BASE_URL / WB_API_KEY, else the settings file, else the
 * base_url recorded in the run directory.
 */
typedef struct wb_sync_options {
	unsigned int version;    /* WB_SYNC_OPTIONS_VERSION */
	const char *base_url;
	const char *api_key;
	unsigned int timeout_ms; /* overall bound, default 600000 */
	/* version 2: progress in bytes of the run log sent ("uploading"), may be NULL */
	wb_progress_fn progress;
	void *progress_arg;
} wb_sync_options;

#define WB_SYNC_OPTIONS_VERSION 2
#define WB_SYNC_OPTIONS_INIT {WB_SYNC_OPTIONS_VERSION, 0, 0, 0, 0, 0}

/*
 * Upload a run directory (<dir>/run-<id>) to the server: creates or resumes
 * the run there and sends every record the server does not have yet, exactly
 * once. If the run log holds no finish record and no live process holds the
 * run (its lock is free), the run is marked crashed on the server. Safe to
 * repeat. *out_sent (may be NULL) receives the number of records sent.
 * Returns WB_OK, WB_ENOTFOUND (no run directory), WB_ECORRUPT (a frame
 * before the end failed its checksum: records up to it were sent),
 * WB_ENET, WB_EAUTH, WB_ESERVER or WB_ETIMEOUT.
 */
WB_EXTERN int wb_sync(const char *run_dir, const wb_sync_options *opts, uint64_t *out_sent);

/*
 * Artifacts
 * ---------
 * Files that belong with a run (checkpoints, the final model, the dataset
 * it read), versioned per name on the server: v0, v1, ... A version is
 * its set of files (path inside the artifact, SHA-256, size); logging the
 * same content again returns the existing version, so only changes make
 * new ones. The server keeps each distinct content once (a blob named by
 * its SHA-256) across runs, versions and projects, and skips uploading
 * what it has. "latest" always names the newest version; other aliases
 * ("best", "prod") are moved between versions by whoever logs.
 *
 * Uploads are streamed in chunks (never a whole file in memory), each
 * chunk checked by the server, gzip'ed when that makes it smaller, and
 * resumed from where they stopped after a crash or an outage. A file is
 * hashed when the artifact is logged; the server hashes what it receives
 * and keeps a blob only when it matches, and the SDK checks the file's size
 * and mtime before its last chunk: a file that changes in between is
 * refused (WB_ECORRUPT), never uploaded half-old, half-new. A version
 * appears on the server only once all its files are there.
 *
 * Durability: wb_run_log_artifact records the artifact in the run log (the
 * manifest with the local paths) before uploading; whatever did not reach
 * the server (network down, server down, process killed) is finished by
 * `wb sync <run dir>`, provided the files are still there, unchanged.
 *
 * Names (artifact, type, alias) match [A-Za-z0-9_.-]{1,64}, not starting
 * with '.'; "blobs" is not an artifact name; "latest" and v<N> are not
 * alias names. Paths inside an artifact are relative, '/'-separated, with
 * no empty, "." or ".." segment and no ".git" segment in any case (nor
 * what Windows or macOS take for one, such as ".git." or "git~1"), at
 * most 1024 bytes: an artifact can never write into a git repository's
 * .git directory. A directory added with a .git inside is refused
 * (WB_EINVAL); a version listing such a path is not downloaded at all.
 *
 * Threads: a wb_artifact belongs to one thread at a time.
 */
typedef struct wb_artifact wb_artifact;

/* A new, empty artifact named name of type type ("model", "dataset", ...).
 * Free with wb_artifact_free. WB_OK, WB_EINVAL or WB_ENOMEM. */
WB_EXTERN int wb_artifact_new(wb_artifact **out, const char *name, const char *type);
/* Free an artifact (after logging it or not). Accepts NULL. */
WB_EXTERN void wb_artifact_free(wb_artifact *art);

/* Add the regular file local_path as path name inside the artifact (NULL:
 * the file's base name). The file is read when the artifact is logged.
 * WB_OK, WB_EINVAL (bad name, a name added twice), WB_ENOTFOUND (no such
 * regular file) or WB_ENOMEM. */
WB_EXTERN int wb_artifact_add_file(wb_artifact *art, const char *local_path, const char *name);

/* Add every regular file under local_dir, recursively, at prefix/<relative
 * path> (prefix NULL or "": at the root). Symbolic links are followed only
 * when they stay inside local_dir; one pointing out of it is refused
 * (WB_EINVAL, nothing added). WB_OK, WB_EINVAL, WB_ENOTFOUND, WB_EIO or
 * WB_ENOMEM. */
WB_EXTERN int wb_artifact_add_dir(wb_artifact *art, const char *local_dir, const char *prefix);

/* Record a reference: a file kept elsewhere (uri such as "s3://bucket/key",
 * "https://..." or "file:///..."), with its SHA-256 (64 hex digits) and
 * size. It is part of the version's content but never uploaded or
 * downloaded. name NULL: the last segment of the URI. */
WB_EXTERN int wb_artifact_add_reference(wb_artifact *art, const char *uri, const char *sha256_hex, uint64_t size,
					const char *name);

/* Set the artifact's metadata to json_object (a JSON object as text;
 * copied). Metadata does not make a new version by itself. */
WB_EXTERN int wb_artifact_set_metadata(wb_artifact *art, const char *json_object);

/*
 * Log art as an output of run: record it in the run log, upload what the
 * server lacks and commit a version, with "latest" and the n aliases
 * (may be NULL when n is 0). *out_version (may be NULL) receives N of vN.
 * Blocks the calling thread while it uploads (at most the run's
 * finish_timeout_ms per try of a request, retried with backoff for up to
 * WB_ARTIFACT_TIMEOUT_MS, default 10 min). In offline mode nothing is
 * uploaded and WB_OK is returned with *out_version = -1: `wb sync`
 * uploads it. Errors: WB_EINVAL, WB_ENOTFOUND or WB_EIO (a file),
 * WB_ECORRUPT (a file changed while it was being logged), WB_ENET,
 * WB_ETIMEOUT, WB_EAUTH, WB_ESERVER (e.g. the server's disk is full); in
 * all but the first four the artifact stays in the run log for `wb sync`.
 */
WB_EXTERN int wb_run_log_artifact(wb_run *run, wb_artifact *art, const char *const *aliases, size_t n,
				  int64_t *out_version);

/*
 * Use a version as an input of run: spec is "name", "name:alias" or
 * "name:v<N>" of the run's project. Its files are downloaded into dir
 * (created if needed; a file already there with the right content is kept)
 * and each is checked against its SHA-256 before it is put in place;
 * references are not downloaded. The use is recorded in the run log
 * (lineage). *out_version (may be NULL) receives N. WB_OK, WB_EINVAL,
 * WB_ENOTFOUND, WB_ECORRUPT (a download did not match its checksum),
 * WB_EIO, WB_ENET, WB_ETIMEOUT, WB_EAUTH or WB_ESERVER.
 */
WB_EXTERN int wb_run_use_artifact(wb_run *run, const char *spec, const char *dir, int64_t *out_version);

/* When wb_run_save uploads a file. */
typedef enum wb_save_policy {
	WB_SAVE_NOW = 0,    /* now (a snapshot of the file as it is) */
	WB_SAVE_END = 1,    /* at wb_run_finish */
	WB_SAVE_LIVE = 2    /* now, again whenever it changes, and at wb_run_finish */
} wb_save_policy;

/*
 * Save the file at path with the run, in the run's artifact
 * "run-<id>-files" (type "run-files") under its base name. The file is
 * copied into the run directory first, once its size and modification time
 * hold still, and the copy is what is uploaded: a file being written is
 * never read half-written. Each upload logs a new version of the whole set
 * of saved files when something changed. Live files are checked every
 * WB_SAVE_POLL_MS (default 1000) by a background thread. WB_OK,
 * WB_EINVAL, WB_ENOTFOUND, WB_EIO, WB_ESTATE (disabled run) or an upload
 * error as for wb_run_log_artifact (the snapshot stays for `wb sync`).
 */
WB_EXTERN int wb_run_save(wb_run *run, const char *path, wb_save_policy policy);

/*
 * Without a run (the `wb artifact` commands): where the artifacts live.
 * NULL strings come from WB_BASE_URL / WB_API_KEY / WB_ENTITY /
 * WB_PROJECT, else the settings file, else the defaults of wb_run_init.
 */
typedef struct wb_artifact_options {
	unsigned int version;    /* WB_ARTIFACT_OPTIONS_VERSION */
	const char *base_url;
	const char *api_key;
	const char *entity;
	const char *project;
	unsigned int timeout_ms; /* overall bound, default 600000 */
	/* version 2: progress in bytes ("hashing" and "uploading" the files, or
	 * "downloading" them), may be NULL */
	wb_progress_fn progress;
	void *progress_arg;
} wb_artifact_options;

#define WB_ARTIFACT_OPTIONS_VERSION 2
#define WB_ARTIFACT_OPTIONS_INIT {WB_ARTIFACT_OPTIONS_VERSION, 0, 0, 0, 0, 0, 0, 0}

/* Upload art and commit a version, as wb_run_log_artifact without a run.
 * *out_version (may be NULL) receives N, *out_created (may be NULL) 1 when
 * the version is new, *out_bytes (may be NULL) the blob bytes sent. */
WB_EXTERN int wb_artifact_upload(const wb_artifact_options *opts, wb_artifact *art, const char *const *aliases,
				 size_t n, int64_t *out_version, int *out_created, uint64_t *out_bytes);

/* Download spec ("name[:alias|:vN]") into dir, as wb_run_use_artifact without a run. */
WB_EXTERN int wb_artifact_download(const wb_artifact_options *opts, const char *spec, const char *dir,
				   int64_t *out_version);

/*
 * Earlier names
 * -------------
 * The names of version 0.1, kept so that no caller breaks (source or
 * binary): each is exactly the call named beside it.
 */
WB_EXTERN int wb_init(wb_run **out, const wb_init_options *opts);                        /* wb_run_init */
WB_EXTERN int wb_finish(wb_run *run, int exit_code);                                      /* wb_run_finish */
WB_EXTERN int wb_log(wb_run *run, const wb_metric *metrics, size_t n, int64_t step);     /* wb_run_log */
WB_EXTERN int wb_define_metric(wb_run *run, const char *key_or_glob, const char *step_metric,
			       unsigned int summary);                                     /* wb_run_define_metric */
WB_EXTERN int wb_alert(wb_run *run, wb_alert_level level, const char *title, const char *text); /* wb_run_alert */
WB_EXTERN int wb_alert_interval_set(wb_run *run, double seconds);                         /* wb_run_set_alert_interval */
WB_EXTERN int wb_log_histogram(wb_run *run, const char *key, const double *values, size_t n,
			       int64_t step);                                             /* wb_run_log_histogram */
WB_EXTERN int wb_log_histogram_bins(wb_run *run, const char *key, const double *edges, const double *counts,
				    size_t nbins, int64_t step);                          /* wb_run_log_histogram_bins */
WB_EXTERN int wb_log_image(wb_run *run, const char *key, const void *png_or_jpeg, size_t len, const char *caption,
			   int64_t step);                                                 /* wb_run_log_image */
WB_EXTERN int wb_log_image_rgb(wb_run *run, const char *key, const uint8_t *rgb, uint32_t width, uint32_t height,
			       const char *caption, int64_t step);                        /* wb_run_log_image_rgb */
WB_EXTERN int wb_log_table(wb_run *run, const char *key, const char *json, int64_t step); /* wb_run_log_table */
WB_EXTERN int wb_tensorboard_follow(wb_run *run, const char *logdir, unsigned int period_ms); /* wb_run_follow_tensorboard */
WB_EXTERN int wb_log_artifact(wb_run *run, wb_artifact *art, const char *const *aliases, size_t n,
			      int64_t *out_version);                                      /* wb_run_log_artifact */
WB_EXTERN int wb_use_artifact(wb_run *run, const char *spec, const char *dir, int64_t *out_version); /* wb_run_use_artifact */
WB_EXTERN int wb_save(wb_run *run, const char *path, wb_save_policy policy);             /* wb_run_save */
WB_EXTERN int wb_should_stop(const wb_run *run);                                        /* wb_run_should_stop */

#ifdef __cplusplus
}
#endif

#endif /* WB_H */
