/*
 * harness.c — a real `wb server` process and an HTTP client for the
 * end-to-end tests and benchmarks (see harness.h).
 */
#include "harness.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef WBT_WB_BIN
#error "WBT_WB_BIN must name the built wb binary"
#endif

const char *wbt_wb_bin(void) { return WBT_WB_BIN; }

double wbt_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int wbt_dial(int port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int wbt_send_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

size_t wbt_read_until_close(int fd, char *buf, size_t cap, double seconds, int *closed)
{
	double until = wbt_now() + seconds;
	size_t n = 0;

	*closed = 0;
	for (;;) {
		struct pollfd p = {fd, POLLIN, 0};
		double left = until - wbt_now();
		ssize_t r;
		if (left <= 0)
			break;
		if (poll(&p, 1, (int)(left * 1000) + 1) <= 0)
			continue;
		r = recv(fd, buf + n, cap - 1 - n > 0 ? cap - 1 - n : 1, 0);
		if (r == 0) {
			*closed = WBT_CLOSED_EOF;
			break;
		}
		if (r < 0 && errno != EINTR && errno != EAGAIN) {
			*closed = WBT_CLOSED_RESET;
			break;
		}
		if (r > 0 && n + (size_t)r < cap)
			n += (size_t)r;
	}
	buf[n] = '\0';
	return n;
}

/* Claim PORT for this process: an abstract Unix socket named after it is
 * the lock (the kernel drops it when the process ends, however it ends),
 * and a trial bind shows nobody listens there now. */
static int claim_port(int port)
{
	struct sockaddr_un u;
	struct sockaddr_in a;
	int lock, probe, one = 1, ok;
	socklen_t ul;

	lock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lock < 0)
		return -1;
	memset(&u, 0, sizeof(u));
	u.sun_family = AF_UNIX;
	ul = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			 (size_t)snprintf(u.sun_path + 1, sizeof(u.sun_path) - 1, "wbt-port-%d", port));
	if (bind(lock, (struct sockaddr *)&u, ul) < 0) {
		close(lock);
		return -1;
	}
	probe = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe < 0) {
		close(lock);
		return -1;
	}
	setsockopt(probe, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	ok = bind(probe, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(probe);
	if (!ok) {
		close(lock);
		return -1;
	}
	return 0; /* the lock socket stays open until the process exits */
}

int wbt_port(void)
{
	int lo = 10000, hi = 32768, span, start;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");

	if (f) {
		int a, b;
		if (fscanf(f, "%d %d", &a, &b) == 2 && a > lo + 1000)
			hi = a;
		fclose(f);
	}
	span = hi - lo;
	start = (int)(((unsigned)getpid() * 2654435761u ^ (unsigned)time(NULL)) % (unsigned)span);
	for (int i = 0; i < span; i++) {
		int port = lo + (start + i) % span;
		if (claim_port(port) == 0)
			return port;
	}
	return -1;
}

int wbt_mkdtemp(char *out, size_t cap, const char *tag)
{
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp)
		tmp = "/tmp";
	if ((size_t)snprintf(out, cap, "%s/wbt-%s-XXXXXX", tmp, tag) >= cap)
		return -1;
	return mkdtemp(out) ? 0 : -1;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void wbt_rm_rf(const char *path)
{
	if (path && path[0])
		nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int wbt_runs_dir(char *out, size_t cap, const char *tag)
{
	if (wbt_mkdtemp(out, cap, tag) < 0)
		return -1;
	return setenv("WB_DIR", out, 1) == 0 ? 0 : -1;
}

int wbt_server_tmp(wbt_server *s, const char *extra_args, char *tmp, size_t cap, const char *tag)
{
	if (wbt_server_start(s, extra_args) < 0)
		return -1;
	return wbt_mkdtemp(tmp, cap, tag);
}

char wbt_runs_root[256];

int wbt_runs_setup(void **state)
{
	(void)state;
	return wbt_runs_dir(wbt_runs_root, sizeof(wbt_runs_root), "runs");
}

int wbt_runs_teardown(void **state)
{
	(void)state;
	return wbt_tmp_done(NULL, wbt_runs_root);
}

int wbt_tmp_done(wbt_server *s, const char *dir)
{
	if (s)
		wbt_server_cleanup(s);
	if (!getenv("WBT_KEEP"))
		wbt_rm_rf(dir);
	return 0;
}

static int read_file(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n;
	if (!f)
		return -1;
	n = fread(buf, 1, cap - 1, f);
	buf[n] = 0;
	fclose(f);
	return 0;
}

static int settings_value(const char *config_dir, const char *name, char *out, size_t cap)
{
	char path[512], buf[4096], *line, *save = NULL;
	size_t nlen = strlen(name);

	snprintf(path, sizeof(path), "%s/settings", config_dir);
	if (read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, name, nlen) == 0 && line[nlen] == '=') {
			snprintf(out, cap, "%s", line + nlen + 1);
			return 0;
		}
	}
	return -1;
}

static int spawn(wbt_server *s, int port)
{
	char portbuf[16], extra[256], *argv[48], *tok, *save = NULL;
	int argc = 0;
	pid_t pid;

	snprintf(portbuf, sizeof(portbuf), "%d", port);
	snprintf(extra, sizeof(extra), "%s", s->extra);
	argv[argc++] = (char *)WBT_WB_BIN;
	argv[argc++] = "server";
	argv[argc++] = "--data";
	argv[argc++] = s->data;
	argv[argc++] = "--host";
	argv[argc++] = "127.0.0.1";
	argv[argc++] = "--port";
	argv[argc++] = portbuf;
	for (tok = strtok_r(extra, " ", &save); tok && argc < 46; tok = strtok_r(NULL, " ", &save))
		argv[argc++] = tok;
	argv[argc] = NULL;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(s->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		setenv("WB_CONFIG_DIR", s->config_dir, 1);
		execv(WBT_WB_BIN, argv);
		_exit(127);
	}
	s->pid = pid;
	return 0;
}

/* Wait until data/server.url exists and /healthz answers 200, or the
 * process dies, or 15 s pass. */
static int wait_ready(wbt_server *s)
{
	char path[512], buf[200];
	double deadline = wbt_now() + 15.0;
	int status;

	snprintf(path, sizeof(path), "%s/server.url", s->data);
	while (wbt_now() < deadline) {
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			fprintf(stderr, "harness: wb server exited early (status %d); log %s\n", status, s->log);
			s->pid = 0;
			return -1;
		}
		if (read_file(path, buf, sizeof(buf)) == 0 &&
		    (strncmp(buf, "http://", 7) == 0 || strncmp(buf, "https://", 8) == 0)) {
			wbt_response r;
			char *colon;
			buf[strcspn(buf, "\r\n")] = 0;
			snprintf(s->url, sizeof(s->url), "%s", buf);
			colon = strrchr(s->url, ':');
			s->port = colon ? atoi(colon + 1) : 0;
			if (wbt_http(s, "GET", "/healthz", NULL, 0, NULL, 0, &r) == 0) {
				long st = r.status;
				wbt_response_free(&r);
				if (st == 200)
					return 0;
			}
		}
		usleep(10000); /* polling interval of a condition with a deadline */
	}
	fprintf(stderr, "harness: wb server not ready after 15 s; log %s\n", s->log);
	return -1;
}

int wbt_server_start(wbt_server *s, const char *extra_args) { return wbt_server_start_ca(s, extra_args, NULL); }

int wbt_server_start_ca(wbt_server *s, const char *extra_args, const char *ca_file)
{
	static int curl_ready;
	char tmpl[256];
	int port;

	if (!curl_ready) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		curl_ready = 1;
	}
	memset(s, 0, sizeof(*s));
	snprintf(s->ca_file, sizeof(s->ca_file), "%s", ca_file ? ca_file : "");
	if (wbt_mkdtemp(tmpl, sizeof(tmpl), "srv") < 0)
		return -1;
	snprintf(s->root, sizeof(s->root), "%s", tmpl);
	snprintf(s->data, sizeof(s->data), "%s/data", s->root);
	snprintf(s->config_dir, sizeof(s->config_dir), "%s/config", s->root);
	snprintf(s->log, sizeof(s->log), "%s/server.log", s->root);
	snprintf(s->extra, sizeof(s->extra), "%s", extra_args ? extra_args : "");
	mkdir(s->config_dir, 0700);
	if ((port = wbt_port()) < 0) {
		fprintf(stderr, "harness: no free port below the ephemeral range\n");
		return -1;
	}
	if (spawn(s, port) < 0 || wait_ready(s) < 0)
		return -1;
	if (settings_value(s->config_dir, "api_key", s->key, sizeof(s->key)) < 0) {
		fprintf(stderr, "harness: no api_key in %s/settings\n", s->config_dir);
		return -1;
	}
	setenv("WB_CONFIG_DIR", s->config_dir, 1);
	setenv("WB_BASE_URL", s->url, 1);
	setenv("WB_API_KEY", s->key, 1);
	return 0;
}

int wbt_server_restart(wbt_server *s)
{
	char path[512];
	int port = s->port;

	snprintf(path, sizeof(path), "%s/server.url", s->data);
	unlink(path);
	if (spawn(s, port) < 0)
		return -1;
	return wait_ready(s);
}

void wbt_server_kill(wbt_server *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
}

int wbt_server_stop(wbt_server *s)
{
	int status = 0;
	if (s->pid <= 0)
		return -1;
	kill(s->pid, SIGTERM);
	if (waitpid(s->pid, &status, 0) != s->pid)
		return -1;
	s->pid = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void wbt_server_cleanup(wbt_server *s)
{
	if (s->pid > 0)
		wbt_server_stop(s);
	if (!getenv("WBT_KEEP"))
		wbt_rm_rf(s->root);
}

/* The string member NAME of the JSON text TEXT into out[cap]. 0 or -1. */
static int json_member(const char *text, const char *name, char *out, size_t cap)
{
	cJSON *j = cJSON_Parse(text);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
	int rc = cJSON_IsString(v) && (size_t)snprintf(out, cap, "%s", v->valuestring) < cap ? 0 : -1;
	cJSON_Delete(j);
	return rc;
}

int wbt_session_cookie(const char *headers, char *out, size_t cap)
{
	const char *p = headers ? strstr(headers, "Set-Cookie: wb_session=") : NULL;
	const char *end;

	if (!p)
		return -1;
	p += strlen("Set-Cookie: ");
	if (!(end = strchr(p, ';')))
		return -1;
	snprintf(out, cap, "%.*s", (int)(end - p), p);
	return 0;
}

int wbt_make_user(const wbt_server *s, const char *name, const char *password, char *cookie, size_t ccap,
		  char *csrf, size_t xcap, char *key, size_t kcap)
{
	char body[512], path[256], auth[160], sess[160], token[96];
	const char *tok;
	wbt_reply r = {0};
	int ret = -1;

	snprintf(auth, sizeof(auth), "Bearer %s", s->key);
	snprintf(body, sizeof(body), "{\"name\":\"%s\"}", name);
	if (wbt_request(s, "POST", "/api/v1/users", body, auth, NULL, &r) || r.status != 201 ||
	    json_member(r.body, "setup_path", path, sizeof(path)) || !(tok = strstr(path, "token="))) {
		fprintf(stderr, "harness: creating user %s: %ld %s\n", name, r.status, r.body ? r.body : "");
		goto done;
	}
	snprintf(body, sizeof(body), "{\"token\":\"%s\",\"password\":\"%s\"}", tok + 6, password);
	wbt_reply_free(&r);
	if (wbt_request(s, "POST", "/api/v1/auth/setup", body, NULL, NULL, &r) || r.status != 200 ||
	    json_member(r.body, "csrf", token, sizeof(token)) || wbt_session_cookie(r.headers, sess, sizeof(sess))) {
		fprintf(stderr, "harness: setting %s's password: %ld %s\n", name, r.status, r.body ? r.body : "");
		goto done;
	}
	if (cookie)
		snprintf(cookie, ccap, "%s", sess);
	if (csrf)
		snprintf(csrf, xcap, "%s", token);
	if (key) {
		wbt_reply_free(&r);
		if (wbt_request(s, "POST", "/api/v1/keys", "{\"name\":\"e2e\"}", sess, token, &r) || r.status != 201 ||
		    json_member(r.body, "key", key, kcap)) {
			fprintf(stderr, "harness: %s's api key: %ld %s\n", name, r.status, r.body ? r.body : "");
			goto done;
		}
	}
	ret = 0;
done:
	wbt_reply_free(&r);
	return ret;
}

int wbt_server_reread_key(wbt_server *s)
{
	if (settings_value(s->config_dir, "api_key", s->key, sizeof(s->key)) < 0)
		return -1;
	setenv("WB_API_KEY", s->key, 1);
	return 0;
}

void wbt_server_discard(wbt_server *s, int *mounted)
{
	if (s->pid > 0)
		wbt_server_kill(s);
	if (mounted && *mounted && umount2(s->data, MNT_DETACH) == 0)
		*mounted = 0;
	if (s->root[0])
		wbt_server_cleanup(s);
	memset(s, 0, sizeof(*s));
}

int wbt_wb(const char *const *args, const char *out_path, const char *err_path)
{
	extern char **environ;
	const char *argv[64];
	posix_spawn_file_actions_t fa;
	size_t n = 0;
	pid_t pid;
	int st, rc;

	argv[n++] = WBT_WB_BIN;
	while (args[n - 1] && n < sizeof(argv) / sizeof(argv[0]) - 1) {
		argv[n] = args[n - 1];
		n++;
	}
	argv[n] = NULL;
	posix_spawn_file_actions_init(&fa);
	if (out_path)
		posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (err_path)
		posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	fflush(NULL);
	rc = posix_spawn(&pid, WBT_WB_BIN, &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int wbt_wbl(const char *arg, ...)
{
	const char *args[32];
	size_t n = 0;
	va_list ap;

	va_start(ap, arg);
	for (const char *a = arg; a && n < sizeof(args) / sizeof(args[0]) - 1; a = va_arg(ap, const char *))
		args[n++] = a;
	va_end(ap);
	args[n] = NULL;
	return wbt_wb(args, NULL, NULL);
}

long wbt_status(const wbt_server *s, const char *method, const char *path, const char *body, char *msg, size_t cap)
{
	const char *hdr[] = {"Content-Type: application/json", NULL};
	wbt_response r;
	long st;

	if (wbt_http(s, method, path, body, body ? strlen(body) : 0, body ? hdr : NULL, 1, &r) != 0)
		return -1;
	st = r.status;
	if (msg)
		snprintf(msg, cap, "%s", r.body ? r.body : "");
	wbt_response_free(&r);
	return st;
}

int wbt_sh(const char *cmd)
{
	int st = system(cmd);
	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void wbt_db_path(const wbt_server *s, char *out, size_t cap) { snprintf(out, cap, "%s/wb.db", s->data); }

typedef struct {
	char *buf;
	size_t len, cap;
} growbuf;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	growbuf *g = ud;
	size_t n = size * nmemb;
	if (g->len + n + 1 > g->cap) {
		size_t cap = (g->cap ? g->cap * 2 : 4096);
		char *p;
		while (cap < g->len + n + 1)
			cap *= 2;
		p = realloc(g->buf, cap);
		if (!p)
			return 0;
		g->buf = p;
		g->cap = cap;
	}
	memcpy(g->buf + g->len, ptr, n);
	g->len += n;
	g->buf[g->len] = 0;
	return n;
}

int wbt_http(const wbt_server *s, const char *method, const char *path, const void *body, size_t body_len,
	     const char *const *headers, int auth, wbt_response *out)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hl = NULL;
	char url[4096], authh[256];
	growbuf g = {0};
	char *ct = NULL;
	int rc = -1, expect = 0;

	memset(out, 0, sizeof(*out));
	if (!c)
		return -1;
	snprintf(url, sizeof(url), "%s%s", s->url, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	/* the server is on loopback: never through a proxy from the environment */
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	if (s->ca_file[0])
		curl_easy_setopt(c, CURLOPT_CAINFO, s->ca_file);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &g);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	}
	/* no 100-continue round trip unless the test asks for one */
	for (size_t i = 0; headers && headers[i]; i++)
		expect = expect || strncasecmp(headers[i], "Expect:", 7) == 0;
	if (!expect)
		hl = curl_slist_append(hl, "Expect:");
	for (size_t i = 0; headers && headers[i]; i++)
		hl = curl_slist_append(hl, headers[i]);
	if (auth) {
		snprintf(authh, sizeof(authh), "Authorization: Bearer %s", s->key);
		hl = curl_slist_append(hl, authh);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	if (curl_easy_perform(c) != CURLE_OK)
		goto done;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
	if (ct)
		snprintf(out->content_type, sizeof(out->content_type), "%s", ct);
	out->body = g.buf ? g.buf : calloc(1, 1);
	out->len = g.len;
	g.buf = NULL;
	rc = 0;
done:
	free(g.buf);
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	return rc;
}

void wbt_response_free(wbt_response *r)
{
	free(r->body);
	r->body = NULL;
}

static size_t reply_body(char *p, size_t size, size_t n, void *ud)
{
	wbt_reply *r = ud;
	size_t old = r->body ? strlen(r->body) : 0, add = size * n;
	char *nb = realloc(r->body, old + add + 1);
	if (!nb)
		return 0;
	memcpy(nb + old, p, add);
	nb[old + add] = '\0';
	r->body = nb;
	return add;
}

static size_t reply_header(char *p, size_t size, size_t n, void *ud)
{
	wbt_reply *r = ud;
	size_t used = strlen(r->headers), add = size * n;
	if (used + add < sizeof(r->headers)) {
		memcpy(r->headers + used, p, add);
		r->headers[used + add] = '\0';
	}
	return add;
}

int wbt_request(const wbt_server *s, const char *method, const char *path, const char *body, const char *auth,
		const char *csrf, wbt_reply *r)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[1024], line[512];
	int rc = -1;

	memset(r, 0, sizeof(*r));
	if (!c)
		return -1;
	snprintf(url, sizeof(url), "%s%s", s->url, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_PROXY, ""); /* loopback, whatever the environment says */
	if (s->ca_file[0])
		curl_easy_setopt(c, CURLOPT_CAINFO, s->ca_file);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		h = curl_slist_append(h, "Content-Type: application/json");
	}
	if (auth && strncmp(auth, "Bearer ", 7) == 0) {
		snprintf(line, sizeof(line), "Authorization: %s", auth);
		h = curl_slist_append(h, line);
	} else if (auth && strchr(auth, '=')) {
		curl_easy_setopt(c, CURLOPT_COOKIE, auth);
	} else if (auth) {
		snprintf(line, sizeof(line), "Authorization: Bearer %s", auth);
		h = curl_slist_append(h, line);
	}
	if (csrf) {
		snprintf(line, sizeof(line), "X-CSRF-Token: %s", csrf);
		h = curl_slist_append(h, line);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, reply_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, reply_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	if (curl_easy_perform(c) == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
		rc = 0;
	}
	if (!r->body)
		r->body = strdup("");
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return r->body ? rc : -1;
}

void wbt_reply_free(wbt_reply *r)
{
	free(r->body);
	r->body = NULL;
}

cJSON *wbt_get_json(const wbt_server *s, const char *path)
{
	wbt_response r;
	cJSON *j = NULL;
	if (wbt_http(s, "GET", path, NULL, 0, NULL, 1, &r) < 0)
		return NULL;
	if (r.status == 200)
		j = cJSON_ParseWithLength(r.body, r.len);
	else
		fprintf(stderr, "harness: GET %s -> %ld %s\n", path, r.status, r.body);
	wbt_response_free(&r);
	return j;
}

double wbt_json_number(const cJSON *item)
{
	if (cJSON_IsNumber(item))
		return item->valuedouble;
	if (cJSON_IsString(item)) {
		if (strcmp(item->valuestring, "NaN") == 0)
			return NAN;
		if (strcmp(item->valuestring, "Infinity") == 0)
			return INFINITY;
		if (strcmp(item->valuestring, "-Infinity") == 0)
			return -INFINITY;
	}
	return -12345.678; /* a sentinel no test logs */
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 1099511628211ULL;
	}
	return h;
}

uint64_t wbt_db_fingerprint(const char *db_path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *tables = NULL;
	uint64_t h = 1469598103934665603ULL;

	if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		goto done;
	if (sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name", -1, &tables,
			       NULL) != SQLITE_OK)
		goto done;
	while (sqlite3_step(tables) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(tables, 0);
		char sql[512];
		sqlite3_stmt *rows = NULL;
		h = fnv(h, name, strlen(name));
		snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\"", name);
		if (sqlite3_prepare_v2(db, sql, -1, &rows, NULL) != SQLITE_OK)
			continue;
		while (sqlite3_step(rows) == SQLITE_ROW) {
			int nc = sqlite3_column_count(rows);
			for (int i = 0; i < nc; i++) {
				const void *b = sqlite3_column_blob(rows, i);
				int n = sqlite3_column_bytes(rows, i);
				int t = sqlite3_column_type(rows, i);
				h = fnv(h, &t, sizeof(t));
				if (b)
					h = fnv(h, b, (size_t)n);
			}
		}
		sqlite3_finalize(rows);
	}
done:
	sqlite3_finalize(tables);
	sqlite3_close(db);
	return h;
}

int wbt_skipped;

int wbt_exit_code(int failed)
{
	return failed == 0 && wbt_skipped ? 77 : failed;
}
