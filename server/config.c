/*
 * config.c — parse `wb server` options (see config.h).
 *
 * The config file is read first and the flags are applied over it, so a
 * one-off `--port 0` works with a shared config file. Unknown keys and
 * flags are errors: a typo in a config file must not be silently ignored.
 */
#include "config.h"
#include "http/http.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char wbs__server_usage[] =
	"usage: wb server --data DIR [--host 127.0.0.1] [--port 8080] [--crash-after SECONDS]\n"
	"                 [--threads N] [--web DIR] [--config FILE]\n"
	"                 [--rate-limit REQ_PER_S] [--rate-burst N] [--log-format text|json]\n"
	"                 [--tls-cert CERT.pem --tls-key KEY.pem]\n"
	"                 [--public-url URL] [--notify-backoff SECONDS] [--webhook-private yes|no]\n"
	"                 [--secure-cookies 1] [--group-read yes|no] [--webhook-proxy URL]\n"
	"                 [--cors-origins https://a.example,https://b.example]\n";


/* 1 if dir/index.html is a file we can read. */
static int has_index(const char *dir)
{
	char p[4200];

	if (snprintf(p, sizeof(p), "%s/index.html", dir) >= (int)sizeof(p))
		return 0;
	return access(p, R_OK) == 0;
}

/*
 * The default web UI directory: the installed one next to the binary
 * (<exe dir>/../share/wb/web, where `cmake --install` and the .deb put it,
 * so an installed tree works wherever its prefix is), else the build tree's
 * web/dist compiled in as WB_WEB_DIR (running from a build). "" when
 * neither holds an index.html: the server then serves only the API.
 */
static void default_web(char *out, size_t cap)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	out[0] = '\0';
	if (n > 0) {
		char *slash;
		exe[n] = '\0';
		if ((slash = strrchr(exe, '/'))) {
			*slash = '\0';
			if (snprintf(out, cap, "%s/../share/wb/web", exe) < (int)cap && has_index(out))
				return;
		}
	}
	out[0] = '\0';
#ifdef WB_WEB_DIR
	if (has_index(WB_WEB_DIR))
		snprintf(out, cap, "%s", WB_WEB_DIR);
#endif
}

/* Set option name to value. 0, or -1 with err. */
static int set_opt(wbs__server_opts *o, const char *name, const char *value, char *err, size_t errlen)
{
	char *end;

	if (strcmp(name, "data") == 0) {
		if (!*value || strlen(value) >= sizeof(o->data)) {
			snprintf(err, errlen, "data must be a directory path");
			return -1;
		}
		snprintf(o->data, sizeof(o->data), "%s", value);
	} else if (strcmp(name, "host") == 0) {
		if (!*value || strlen(value) >= sizeof(o->host) || strpbrk(value, " []/,")) {
			snprintf(err, errlen, "host must be an address such as 127.0.0.1 or ::1");
			return -1;
		}
		snprintf(o->host, sizeof(o->host), "%s", value);
	} else if (strcmp(name, "port") == 0) {
		long v;
		errno = 0;
		v = strtol(value, &end, 10);
		if (errno || !*value || *end || v < 0 || v > 65535) {
			snprintf(err, errlen, "port must be an integer from 0 to 65535");
			return -1;
		}
		o->port = (int)v;
	} else if (strcmp(name, "crash-after") == 0 || strcmp(name, "crash_after") == 0) {
		double v = strtod(value, &end);
		if (!*value || *end || !isfinite(v) || v <= 0) {
			snprintf(err, errlen, "crash-after must be a positive number of seconds");
			return -1;
		}
		o->crash_after = v;
	} else if (strcmp(name, "threads") == 0) {
		long v;
		errno = 0;
		v = strtol(value, &end, 10);
		if (errno || !*value || *end || v < 1 || v > 8192) {
			snprintf(err, errlen, "threads must be an integer from 1 to 8192");
			return -1;
		}
		o->threads = (int)v;
	} else if (strcmp(name, "cors-origins") == 0 || strcmp(name, "cors_origins") == 0) {
		/* Exact origins (scheme://host[:port]), comma-separated; "" for none. */
		if (strlen(value) >= sizeof(o->cors_origins) || strpbrk(value, "\"<>*")) {
			snprintf(err, errlen, "cors-origins must be origins like https://dash.example.com, comma-separated");
			return -1;
		}
		snprintf(o->cors_origins, sizeof(o->cors_origins), "%s", value);
	} else if (strcmp(name, "secure-cookies") == 0 || strcmp(name, "secure_cookies") == 0) {
		if (strcmp(value, "1") == 0 || strcmp(value, "true") == 0 || strcmp(value, "yes") == 0) {
			o->secure_cookies = 1;
		} else if (strcmp(value, "0") == 0 || strcmp(value, "false") == 0 || strcmp(value, "no") == 0) {
			o->secure_cookies = 0;
		} else {
			snprintf(err, errlen, "secure-cookies must be 1 or 0");
			return -1;
		}
	} else if (strcmp(name, "web") == 0) {
		if (strlen(value) >= sizeof(o->web)) {
			snprintf(err, errlen, "web must be a directory path");
			return -1;
		}
		snprintf(o->web, sizeof(o->web), "%s", value);
	} else if (strcmp(name, "rate-limit") == 0 || strcmp(name, "rate_limit") == 0 ||
		   strcmp(name, "rate-burst") == 0 || strcmp(name, "rate_burst") == 0) {
		int burst = strstr(name, "burst") != NULL;
		double v = strtod(value, &end);
		if (!*value || *end || !isfinite(v) || v < 0 || v > 1e9 || (burst && v < 1)) {
			snprintf(err, errlen, "%s must be a number %s", burst ? "rate-burst" : "rate-limit",
				 burst ? "of at least 1" : "of requests per second (0: no limit)");
			return -1;
		}
		*(burst ? &o->rate_burst : &o->rate_limit) = v;
	} else if (strcmp(name, "tls-cert") == 0 || strcmp(name, "tls_cert") == 0 || strcmp(name, "tls-key") == 0 ||
		   strcmp(name, "tls_key") == 0) {
		int key = strstr(name, "key") != NULL;
		char *dst = key ? o->tls_key : o->tls_cert;
		/* "" turns TLS off again (a flag over a config file). */
		if (strlen(value) >= sizeof(o->tls_cert)) {
			snprintf(err, errlen, "%s must be the path of a PEM file", key ? "tls-key" : "tls-cert");
			return -1;
		}
		snprintf(dst, sizeof(o->tls_cert), "%s", value);
	} else if (strcmp(name, "log-format") == 0 || strcmp(name, "log_format") == 0) {
		if (strcmp(value, "json") != 0 && strcmp(value, "text") != 0) {
			snprintf(err, errlen, "log-format must be text or json");
			return -1;
		}
		o->log_json = strcmp(value, "json") == 0;
	} else if (strcmp(name, "public-url") == 0 || strcmp(name, "public_url") == 0) {
		if (strlen(value) >= sizeof(o->public_url) ||
		    (strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0) || strpbrk(value, " \t\"<>")) {
			snprintf(err, errlen, "public-url must be an http:// or https:// URL");
			return -1;
		}
		snprintf(o->public_url, sizeof(o->public_url), "%s", value);
	} else if (strcmp(name, "webhook-private") == 0 || strcmp(name, "webhook_private") == 0) {
		if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0) {
			snprintf(err, errlen, "webhook-private must be yes or no");
			return -1;
		}
		o->webhook_private = strcmp(value, "yes") == 0;
	} else if (strcmp(name, "group-read") == 0 || strcmp(name, "group_read") == 0) {
		if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0) {
			snprintf(err, errlen, "group-read must be yes or no");
			return -1;
		}
		o->group_read = strcmp(value, "yes") == 0;
	} else if (strcmp(name, "webhook-proxy") == 0 || strcmp(name, "webhook_proxy") == 0) {
		if (strlen(value) >= sizeof(o->webhook_proxy) ||
		    (strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0 &&
		     strncmp(value, "socks5://", 9) != 0 && strncmp(value, "socks5h://", 10) != 0) ||
		    strpbrk(value, " \t\"<>")) {
			snprintf(err, errlen, "webhook-proxy must be an http://, https://, socks5:// or socks5h:// URL");
			return -1;
		}
		snprintf(o->webhook_proxy, sizeof(o->webhook_proxy), "%s", value);
	} else if (strcmp(name, "notify-backoff") == 0 || strcmp(name, "notify_backoff") == 0) {
		double v = strtod(value, &end);
		if (!*value || *end || !isfinite(v) || v < 0.01 || v > 3600) {
			snprintf(err, errlen, "notify-backoff must be a number of seconds from 0.01 to 3600");
			return -1;
		}
		o->notify_backoff = v;
	} else {
		snprintf(err, errlen, "unknown option %s", name);
		return -1;
	}
	return 0;
}

static char *trim(char *s)
{
	char *e;
	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

static int load_file(wbs__server_opts *o, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[8192];
	int lineno = 0, rc = -1;

	if (!f) {
		snprintf(err, errlen, "cannot read config file %s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *p, *eq, *k, *v, why[256];
		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errlen, "%s:%d: line is too long", path, lineno);
			goto done;
		}
		if ((p = strchr(line, '#')))
			*p = '\0';
		p = trim(line);
		if (!*p)
			continue;
		eq = strchr(p, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%d: expected key = value", path, lineno);
			goto done;
		}
		*eq = '\0';
		k = trim(p);
		v = trim(eq + 1);
		if (strcmp(k, "config") == 0 || set_opt(o, k, v, why, sizeof(why))) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno,
				 strcmp(k, "config") == 0 ? "config cannot name another file" : why);
			goto done;
		}
	}
	rc = 0;
done:
	fclose(f);
	return rc;
}

int wbs__server_opts_parse(wbs__server_opts *o, int argc, char **argv, char *err, size_t errlen)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->host, sizeof(o->host), "127.0.0.1");
	o->port = 8080;
	o->crash_after = 120;
	o->threads = WBS__HTTP_THREADS_DEFAULT;
	o->rate_limit = 1000;
	o->rate_burst = 2000;
	o->notify_backoff = 2;
	default_web(o->web, sizeof(o->web));

	/* First pass: help and the config file. */
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return 1;
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			snprintf(o->config, sizeof(o->config), "%s", argv[i + 1]);
		else if (strncmp(argv[i], "--config=", 9) == 0)
			snprintf(o->config, sizeof(o->config), "%s", argv[i] + 9);
	}
	if (o->config[0] && load_file(o, o->config, err, errlen))
		return -1;
	for (int i = 0; i < argc; i++) {
		char name[64];
		const char *a = argv[i], *eq, *value;
		if (strncmp(a, "--", 2) != 0 || !a[2]) {
			snprintf(err, errlen, "unexpected argument %s", a);
			return -1;
		}
		a += 2;
		eq = strchr(a, '=');
		if (eq) {
			if ((size_t)(eq - a) >= sizeof(name)) {
				snprintf(err, errlen, "unknown option --%s", a);
				return -1;
			}
			memcpy(name, a, (size_t)(eq - a));
			name[eq - a] = '\0';
			value = eq + 1;
		} else {
			snprintf(name, sizeof(name), "%s", a);
			if (i + 1 >= argc) {
				snprintf(err, errlen, "option --%s needs a value", name);
				return -1;
			}
			value = argv[++i];
		}
		if (strcmp(name, "config") == 0)
			continue;
		if (set_opt(o, name, value, err, errlen))
			return -1;
	}
	if (!o->data[0]) {
		snprintf(err, errlen, "--data DIR is required");
		return -1;
	}
	if (!o->tls_cert[0] != !o->tls_key[0]) {
		snprintf(err, errlen, "tls-cert and tls-key go together: give both or neither");
		return -1;
	}
	return 0;
}
