/*
 * static.c — the web UI's files: everything that is not /api/v1 or
 * /healthz.
 *
 * The UI is a single-page app built by web/build.mjs into DIR/index.html and
 * DIR/assets/<name>-<hash>.<ext>. Its URLs are the product ("/alice/mnist",
 * "/alice/mnist/runs/k3x9q2ab", ".../compare?runs=a,b"), so every path that
 * is not an asset is answered with index.html and the app routes on the
 * client. Assets carry a content hash in their names and are cached for a
 * year as immutable; index.html is always revalidated, so a new build is
 * picked up on the next load.
 *
 * No path from the request ever reaches the file system except an asset
 * name, which must be one segment of [A-Za-z0-9._-] not starting with '.';
 * the request URI is raw (decode_url=no), so "%2e%2e" and "../" are simply
 * not asset names. The static files need no API key: they hold no data,
 * and every byte of data comes later through the authenticated /api/v1.
 */
#include "http/static.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATIC_FILE_MAX (16u * 1024u * 1024u)

static const char *content_type(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
		{".css", "text/css; charset=utf-8"},   {".json", "application/json"},
		{".svg", "image/svg+xml"},             {".png", "image/png"},
		{".ico", "image/x-icon"},              {".woff2", "font/woff2"},
		{".map", "application/json"},
	};
	const char *dot = strrchr(name, '.');

	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

/* An asset name is one path segment of [A-Za-z0-9._-], not starting with '.'. */
static int asset_name_valid(const char *s)
{
	size_t n = 0;

	if (!*s || *s == '.')
		return 0;
	for (; s[n]; n++) {
		char c = s[n];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == '-'))
			return 0;
	}
	return n <= 128;
}

/* Read a whole regular file (at most STATIC_FILE_MAX). 0, or -1 (errno-ish: missing or unreadable). */
static int read_file(const char *path, char **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	long n;
	int rc = -1;

	*data = NULL;
	*len = 0;
	if (!f)
		return -1;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || (unsigned long)n > STATIC_FILE_MAX || fseek(f, 0, SEEK_SET))
		goto done;
	p = malloc((size_t)n + 1);
	if (!p)
		goto done;
	if (fread(p, 1, (size_t)n, f) != (size_t)n)
		goto done;
	*data = p;
	*len = (size_t)n;
	p = NULL;
	rc = 0;
done:
	free(p);
	fclose(f);
	return rc;
}

static void send_file(wbs__req *q, const char *type, const char *cache, const char *data, size_t len, int html)
{
	char clen[24];

	q->status = 200;
	snprintf(clen, sizeof(clen), "%zu", len);
	mg_response_header_start(q->conn, 200);
	mg_response_header_add(q->conn, "Content-Type", type, -1);
	mg_response_header_add(q->conn, "Content-Length", clen, -1);
	mg_response_header_add(q->conn, "Cache-Control", cache, -1);
	mg_response_header_add(q->conn, "X-Content-Type-Options", "nosniff", -1);
	mg_response_header_add(q->conn, "X-Request-Id", q->id, -1);
	if (html) {
		/* Defence in depth behind the UI's textContent-only rendering:
		 * no inline or foreign script can run even if markup slipped in. */
		mg_response_header_add(q->conn, "Content-Security-Policy",
				       "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
				       "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
				       "base-uri 'none'; frame-ancestors 'none'",
				       -1);
		mg_response_header_add(q->conn, "Referrer-Policy", "same-origin", -1);
	}
	mg_response_header_send(q->conn);
	if (len && strcmp(q->ri->request_method, "HEAD") != 0)
		mg_write(q->conn, data, len);
}

void wbs__static_serve(wbs__req *q, const char *web_dir)
{
	const char *uri = q->ri->request_uri ? q->ri->request_uri : "";
	const char *m = q->ri->request_method;
	char path[4400];
	char *data = NULL;
	size_t len = 0;

	if (strcmp(uri, "/api") == 0 || strncmp(uri, "/api/", 5) == 0) {
		wbs__send_error(q, 404, "not_found", "unknown route");
		return;
	}
	if (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0) {
		wbs__send_error(q, 405, "method_not_allowed", "method %s is not allowed here", m);
		return;
	}
	if (!web_dir || !*web_dir) {
		wbs__send_error(q, 404, "not_found", "the web ui is not configured (wb server --web DIR)");
		return;
	}
	if (strncmp(uri, "/assets/", 8) == 0) {
		const char *name = uri + 8;
		if (!asset_name_valid(name)) {
			wbs__send_error(q, 404, "not_found", "no such file");
			return;
		}
		snprintf(path, sizeof(path), "%s/assets/%s", web_dir, name);
		if (read_file(path, &data, &len)) {
			wbs__send_error(q, 404, "not_found", "no such file");
			return;
		}
		send_file(q, content_type(name), "public, max-age=31536000, immutable", data, len, 0);
		free(data);
		return;
	}
	if (strcmp(uri, "/favicon.ico") == 0 || strcmp(uri, "/robots.txt") == 0) {
		wbs__send_error(q, 404, "not_found", "no such file");
		return;
	}
	/* Every other path is a page of the app. */
	snprintf(path, sizeof(path), "%s/index.html", web_dir);
	if (read_file(path, &data, &len)) {
		wbs__send_error(q, 404, "not_found", "the web ui is not built (no index.html in the --web directory)");
		return;
	}
	send_file(q, "text/html; charset=utf-8", "no-cache", data, len, 1);
	free(data);
}
