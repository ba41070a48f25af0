/*
 * harness.h — what the end-to-end tests and benchmarks share: a real
 * `wb server` process on a free loopback port with its own data and config
 * directories, a small HTTP client for its API, and temp-dir handling.
 *
 * Nothing here is a mock: the server is the built `wb` binary, the store is
 * a real SQLite file, the client is libcurl. Waits poll a condition against
 * a deadline; there are no sleeps used as synchronisation.
 */
#ifndef WB_TEST_HARNESS_H
#define WB_TEST_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

typedef struct wbt_server {
	pid_t pid;
	int port;
	char root[256];       /* temp root, removed by wbt_server_cleanup */
	char data[320];       /* root/data */
	char config_dir[320]; /* root/config: WB_CONFIG_DIR of the server and the SDK */
	char url[256];        /* http://127.0.0.1:PORT */
	char key[128];        /* the admin API key, read from the settings file */
	char log[320];        /* root/server.log: the server's stderr */
	char extra[256];      /* extra command-line arguments, space-separated */
	char ca_file[320];    /* PEM CA bundle the harness's requests verify an https server with, or "" */
} wbt_server;

/* Path of the built `wb` binary (compiled in). */
const char *wbt_wb_bin(void);

/* Make a temp root, start `wb server --data root/data --port 0 EXTRA`, wait
 * until it serves /healthz, read its URL and admin key, and export
 * WB_BASE_URL, WB_API_KEY and WB_CONFIG_DIR for the SDK in this process.
 * Returns 0 or -1 (with a message on stderr). */
int wbt_server_start(wbt_server *s, const char *extra_args);

/* The same for a server that serves https (extra_args give --tls-cert and
 * --tls-key, or --config with them): the harness's own requests verify it
 * with ca_file. WB_CA_FILE is left alone: the SDK's part is the test's. */
int wbt_server_start_ca(wbt_server *s, const char *extra_args, const char *ca_file);

/* Start the same server again on the same data directory and port (after a
 * kill or a stop). */
int wbt_server_restart(wbt_server *s);

/* SIGKILL the server and reap it. */
void wbt_server_kill(wbt_server *s);

/* SIGTERM the server, wait for it to exit; returns its exit status or -1. */
int wbt_server_stop(wbt_server *s);

/* Stop the server if running and remove the temp root. */
void wbt_server_cleanup(wbt_server *s);

/* Path of the server's SQLite database. */
void wbt_db_path(const wbt_server *s, char *out, size_t cap);

typedef struct wbt_response {
	long status;
	char *body; /* NUL-terminated, malloc'ed */
	size_t len;
	char content_type[128];
} wbt_response;

/* One HTTP request to the server. path starts with '/'. body may be NULL.
 * headers is a NULL-terminated list of "Name: value" lines, may be NULL.
 * auth: 1 adds the admin key as a Bearer token. Returns 0 or -1 on a
 * transport error. Free with wbt_response_free. */
int wbt_http(const wbt_server *s, const char *method, const char *path, const void *body, size_t body_len,
	     const char *const *headers, int auth, wbt_response *out);
void wbt_response_free(wbt_response *r);

/* An answer with its headers, for tests that look at them (X-Wb-Denied, Set-Cookie, Retry-After). */
typedef struct wbt_reply {
	long status;
	char *body; /* NUL-terminated, malloc'ed, "" when there was none */
	char headers[4096];
} wbt_reply;

/* One request as a browser or a client sends it: body, if any, as
 * application/json; auth NULL (nobody), "Bearer KEY" or a bare API key (the
 * Authorization header), or "NAME=VALUE" (a cookie, such as a session);
 * csrf an X-CSRF-Token or NULL. 0, or -1 on a transport error. Free with
 * wbt_reply_free. */
int wbt_request(const wbt_server *s, const char *method, const char *path, const char *body, const char *auth,
		const char *csrf, wbt_reply *r);
void wbt_reply_free(wbt_reply *r);

/*
 * A user NAME made by s's admin, who sets PASSWORD through the setup link
 * (as a person does) and, signed in, makes an API key. Out, each optional
 * (NULL): the session cookie ("wb_session=..."), its CSRF token and the
 * key. 0, or -1 with a line on stderr saying which step failed.
 */
int wbt_make_user(const wbt_server *s, const char *name, const char *password, char *cookie, size_t ccap,
		  char *csrf, size_t xcap, char *key, size_t kcap);

/* GET path with the admin key and parse the JSON answer; NULL unless 200. */
cJSON *wbt_get_json(const wbt_server *s, const char *path);

/* Decode a JSON number that may be "NaN"/"Infinity"/"-Infinity". */
double wbt_json_number(const cJSON *item);

/*
 * Run the built `wb` with args (NULL-terminated, without the program name)
 * and this process's environment; stdout and stderr go to the files
 * out_path and err_path (truncated) when not NULL, else where the test's
 * go. The exit status, or -1 when it could not run or died by a signal.
 * wbt_wbl: the same with the arguments listed, NULL last.
 */
int wbt_wb(const char *const *args, const char *out_path, const char *err_path);
int wbt_wbl(const char *arg, ...);

/* The status of one request with s's admin key and a JSON body (may be
 * NULL); the answer's body into msg[cap] when msg is not NULL. -1 when no
 * answer came. */
long wbt_status(const wbt_server *s, const char *method, const char *path, const char *body, char *msg,
		size_t cap);

/* system(cmd)'s exit status, or -1. */
int wbt_sh(const char *cmd);

/* Read s's admin key again from its settings file (a new database under a
 * restarted server writes a new one) into s->key and WB_API_KEY. 0 or -1. */
int wbt_server_reread_key(wbt_server *s);

/*
 * Teardown of a test that mounted a file system on s->data: kill the
 * server, detach the mount (*mounted is cleared), remove its directories
 * and zero s. Safe on a server that never started.
 */
void wbt_server_discard(wbt_server *s, int *mounted);

/* Temp directories. */
int wbt_mkdtemp(char *out, size_t cap, const char *tag);
void wbt_rm_rf(const char *path);

/* A test group's fixture, shared by the setups and teardowns of the e2e
 * files. wbt_runs_dir: a temp directory (wbt_mkdtemp) exported as WB_DIR,
 * where the SDK writes its runs; 0 or -1. wbt_server_tmp: a server
 * started with extra_args and a temp directory; 0 or -1. wbt_tmp_done:
 * the server (unless NULL) stopped and removed, the directory removed
 * unless WBT_KEEP is set (to look at after a failure); returns 0. */
int wbt_runs_dir(char *out, size_t cap, const char *tag);
int wbt_server_tmp(wbt_server *s, const char *extra_args, char *tmp, size_t cap, const char *tag);
int wbt_tmp_done(wbt_server *s, const char *dir);

/* The group fixture of the e2e files whose cases start their own servers:
 * wbt_runs_setup makes wbt_runs_root (wbt_runs_dir, tag "runs"),
 * wbt_runs_teardown removes it (wbt_tmp_done). For cmocka_run_group_tests. */
extern char wbt_runs_root[256];
int wbt_runs_setup(void **state);
int wbt_runs_teardown(void **state);

/*
 * A TCP port for a loopback listener that may be stopped and started again
 * on the same port: below the kernel's ephemeral range, so no port-0
 * listener or outgoing connection of another process takes it while it is
 * down, and claimed for the life of this process so that tests running in
 * parallel never pick the same one. -1 when none is free.
 */
int wbt_port(void);

/* Monotonic seconds. */
double wbt_now(void);

/* The wb_session cookie of the Set-Cookie header among headers, as
 * "wb_session=VALUE" (what a browser sends back), into out: 0, or -1 when
 * there is none. */
int wbt_session_cookie(const char *headers, char *out, size_t cap);

/* Raw sockets, for what libcurl will not send (a body that stops half way,
 * a declared length never sent). wbt_dial: a TCP connection to
 * 127.0.0.1:port (TCP_NODELAY), or -1. wbt_send_all: 0 when all n bytes
 * were sent, else -1 (no SIGPIPE). */
int wbt_dial(int port);
int wbt_send_all(int fd, const void *p, size_t n);

/* Read from fd into buf (NUL-terminated, at most cap - 1 bytes kept) until
 * the peer closes or `seconds` pass. Returns the bytes kept; *closed is 0
 * when the deadline came first, WBT_CLOSED_EOF when the peer closed
 * cleanly, WBT_CLOSED_RESET when the connection was reset or failed. */
#define WBT_CLOSED_EOF 1
#define WBT_CLOSED_RESET 2
size_t wbt_read_until_close(int fd, char *buf, size_t cap, double seconds, int *closed);

/* Hash of the whole content of every table of a SQLite database (opened
 * read-only), for "the database is unchanged" checks. */
uint64_t wbt_db_fingerprint(const char *db_path);

/*
 * Skipping honestly: a test that cannot run here (no root, no mount) calls
 * WBT_SKIP("why"); main returns wbt_exit_code(cmocka's result), which is
 * 77 when anything was skipped and nothing failed, and CTest's
 * SKIP_RETURN_CODE 77 (tests/e2e/CMakeLists.txt) reports the test as
 * skipped, never as passed.
 */
extern int wbt_skipped;
#define WBT_SKIP(why)                                              \
	do {                                                       \
		print_message("skipped: %s\n", (why));             \
		wbt_skipped = 1;                                   \
		skip();                                            \
	} while (0)
int wbt_exit_code(int failed);

#endif
