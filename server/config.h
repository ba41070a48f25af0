/*
 * config.h — options of `wb server`, from flags and an optional config file
 * of `key = value` lines with the flag names (data, host, port,
 * crash-after, threads, rate-limit, rate-burst, log-format, tls-cert,
 * tls-key, ...; '#' starts a comment). Flags win over the file.
 *
 * Threads: no shared state.
 */
#ifndef WB_SERVER_CONFIG_H
#define WB_SERVER_CONFIG_H

#include <stddef.h>

typedef struct wbs__server_opts {
	char data[4096];    /* required */
	char host[256];     /* default 127.0.0.1 */
	int port;           /* default 8080; 0 picks a free port */
	double crash_after; /* seconds, default 120 */
	int threads;        /* HTTP worker threads, default WBS__HTTP_THREADS_DEFAULT (1024) */
	char config[4096];  /* the config file given, or "" */
	double rate_limit;  /* requests per second per API key, default 1000; 0: no limit */
	double rate_burst;  /* burst of the rate limit, default 2000 */
	int log_json;       /* --log-format json: one JSON object per line (default: logfmt text) */
	char web[4096];     /* the built web UI; default <exe dir>/../share/wb/web, else WB_WEB_DIR
			       (the build tree's, compiled in), if it has an index.html; "": none */
	char tls_cert[4096]; /* PEM certificate chain: HTTPS only; "" (default): plain HTTP */
	char tls_key[4096];  /* PEM private key of tls_cert; required with it */
	char public_url[1024]; /* the URL users reach the server at, for links in notifications; "": the listening URL */
	double notify_backoff; /* seconds before the first webhook retry, doubling (default 2) */
	int webhook_private;   /* --webhook-private yes: webhooks may reach loopback/private addresses */
	char webhook_proxy[1024]; /* --webhook-proxy URL: webhooks go through it, and it decides where they may
				     go; "": direct, whatever http_proxy and the like say */
	int secure_cookies; /* --secure-cookies 1: the session cookie is Secure (served behind a TLS proxy) */
	int group_read;     /* --group-read yes: data files 0640, directories 0750 (default 0600, 0700) */
	char cors_origins[1024]; /* --cors-origins: origins allowed to call /api/v1 from their pages; "" (default): none */
} wbs__server_opts;

/*
 * Parse argv[0..argc) (the arguments after "server"). Returns 0, 1 if help
 * was asked for, or -1 with a one-line message in err.
 */
int wbs__server_opts_parse(wbs__server_opts *o, int argc, char **argv, char *err, size_t errlen);

/* Usage text of `wb server`. */
extern const char wbs__server_usage[];

/* Run `wb server` with its arguments: returns the process exit code. */
int wbs__cmd_server(int argc, char **argv);

#endif /* WB_SERVER_CONFIG_H */
