/*
 * cmd_server.c — `wb server`: open the store, start HTTP, create the first
 * API key if needed, publish the address, and wait for SIGTERM/SIGINT.
 *
 * Shutdown order is what makes "nothing acknowledged is lost, nothing is
 * half-written" hold: first drain (new requests get 503; the requests in
 * flight run to completion, bodies included, and each is answered only
 * after its transaction committed), then mg_stop(), then the store, whose
 * writer drains its queue and commits before the database is closed. Signals are blocked in every
 * thread and taken synchronously with sigwait() in main, so no handler
 * code runs in async-signal context.
 *
 * DIR/server.url is written after everything is ready (tests and scripts
 * poll for it to learn the port) and atomically (temporary file + rename),
 * so a reader never sees half a URL.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/auth.h"
#include "http/http.h"
#include "notify/notify.h"
#include "store/store.h"
#include "util/fsmode.h"
#include "util/log.h"

/* mkdir -p for the directories it creates (0750 less the umask: see util/fsmode.h). */
static int mkdir_p(const char *path)
{
	char tmp[4096];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0750) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, 0750) && errno != EEXIST)
		return -1;
	return 0;
}

/*
 * Every open connection is a descriptor and, with civetweb, a worker: raise
 * the soft descriptor limit to the hard one (often 1024 soft, far more
 * hard) so that `threads` connections plus the store's files fit, and say
 * so when even the hard limit is too low.
 */
static void raise_fd_limit(int threads)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)threads * 2 + 256;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < want && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < want)
		wbs__log(WBS__LOG_WARN, "file descriptor limit is low for the worker threads",
			"limit=%llu threads=%d want=%llu", (unsigned long long)rl.rlim_cur, threads,
			(unsigned long long)want);
}

static int write_url_file(const char *dir, const char *url, char *err, size_t errlen)
{
	char path[4200], tmp[4300];
	int fd, rc = -1;
	size_t n = strlen(url);

	snprintf(path, sizeof(path), "%s/server.url", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0) {
		snprintf(err, errlen, "cannot write %.300s: %s", tmp, strerror(errno));
		return -1;
	}
	if (write(fd, url, n) != (ssize_t)n || write(fd, "\n", 1) != 1 || fsync(fd)) {
		snprintf(err, errlen, "cannot write %.300s: %s", tmp, strerror(errno));
		close(fd);
		goto done;
	}
	if (close(fd)) {
		snprintf(err, errlen, "cannot write %.300s: %s", tmp, strerror(errno));
		goto done;
	}
	if (rename(tmp, path)) {
		snprintf(err, errlen, "cannot rename %.300s: %s", tmp, strerror(errno));
		goto done;
	}
	rc = 0;
done:
	if (rc)
		unlink(tmp);
	return rc;
}

int wbs__cmd_server(int argc, char **argv)
{
	wbs__server_opts o;
	wbs__store_opts so;
	wbs__http_opts ho;
	wbs__store *store = NULL;
	wbs__http *http = NULL;
	wbs__notifier *notifier = NULL;
	wbs__notify_opts no;
	wbs__err e = {0};
	sigset_t set;
	char err[512], url[320], q[600];
	int sig = 0, rc, code = 1;

	rc = wbs__server_opts_parse(&o, argc, argv, err, sizeof(err));
	if (rc == 1) {
		fputs(wbs__server_usage, stdout);
		return 0;
	}
	if (rc < 0) {
		fprintf(stderr, "wb server: %s\n%s", err, wbs__server_usage);
		return 2;
	}

	wbs__log_set_json(o.log_json);
	/* Before any thread exists, so that every thread inherits the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* Data files for the server's user (and group, if asked) only, whatever umask it was started with. */
	wbs__data_umask(o.group_read);
	if (mkdir_p(o.data)) {
		wbs__log(WBS__LOG_ERROR, "cannot create the data directory", "dir=%s error=%s",
			wbs__log_quote(q, sizeof(q), o.data), strerror(errno));
		return 1;
	}
	if (wbs__data_modes(o.data, o.group_read))
		/* A data directory owned by someone else (read-only serving): go on, say so. */
		wbs__log(WBS__LOG_WARN, "cannot set the data directory's mode", "dir=%s error=%s",
			wbs__log_quote(q, sizeof(q), o.data), strerror(errno));
	raise_fd_limit(o.threads);
	memset(&so, 0, sizeof(so));
	so.dir = o.data;
	so.crash_after = o.crash_after;
	so.readers_max = (unsigned)o.threads + 4u;
	if (wbs__store_open(&store, &so, &e)) {
		wbs__log(WBS__LOG_ERROR, "cannot open the store", "error=%s", wbs__log_quote(q, sizeof(q), e.msg));
		return 1;
	}
	memset(&ho, 0, sizeof(ho));
	ho.host = o.host;
	ho.port = o.port;
	ho.threads = o.threads;
	ho.store = store;
	ho.rate_limit = o.rate_limit;
	ho.rate_burst = o.rate_burst;
	ho.web_dir = o.web;
	ho.tls_cert = o.tls_cert;
	ho.tls_key = o.tls_key;
	ho.secure_cookies = o.secure_cookies;
	ho.cors_origins = o.cors_origins;
	if (wbs__http_start(&http, &ho, url, sizeof(url), err, sizeof(err))) {
		wbs__log(WBS__LOG_ERROR, "cannot start http", "error=%s", wbs__log_quote(q, sizeof(q), err));
		goto done;
	}
	if (wbs__auth_bootstrap(store, url, err, sizeof(err))) {
		wbs__log(WBS__LOG_ERROR, "cannot set up api keys", "error=%s", wbs__log_quote(q, sizeof(q), err));
		goto done;
	}
	memset(&no, 0, sizeof(no));
	no.store = store;
	no.base_url = o.public_url[0] ? o.public_url : url;
	no.backoff = o.notify_backoff;
	no.allow_private = o.webhook_private;
	no.proxy = o.webhook_proxy[0] ? o.webhook_proxy : NULL;
	if (wbs__notify_start(&notifier, &no, err, sizeof(err))) {
		wbs__log(WBS__LOG_ERROR, "cannot start notifications", "error=%s", wbs__log_quote(q, sizeof(q), err));
		goto done;
	}
	wbs__http_set_notifier(http, notifier);
	if (write_url_file(o.data, url, err, sizeof(err))) {
		/* On a read-only data directory the server still serves reads. */
		int ro = wbs__store_readonly(store);
		wbs__log(ro ? WBS__LOG_WARN : WBS__LOG_ERROR, "cannot publish the server url", "error=%s",
			wbs__log_quote(q, sizeof(q), err));
		if (!ro)
			goto done;
	}
	printf("wb server listening on %s\n", url);
	fflush(stdout);
	wbs__log(WBS__LOG_INFO, "server listening", "url=%s data=%s crash_after=%g threads=%d", url,
		wbs__log_quote(q, sizeof(q), o.data), o.crash_after, o.threads);

	while (sigwait(&set, &sig) != 0)
		;
	wbs__log(WBS__LOG_INFO, "shutting down", "signal=%s", sig == SIGINT ? "SIGINT" : "SIGTERM");
	code = 0;
	wbs__http_drain(http, 60);
done:
	wbs__http_stop(http);
	wbs__notify_stop(notifier);
	wbs__store_close(store);
	if (code == 0)
		wbs__log(WBS__LOG_INFO, "stopped", NULL);
	return code;
}
