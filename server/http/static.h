/*
 * static.h — serving the web UI's built files (static.c). Used by the
 * router in server.c for every path outside /api/v1 and /healthz.
 */
#ifndef WB_SERVER_HTTP_STATIC_H
#define WB_SERVER_HTTP_STATIC_H

#include "http/http_int.h"

/*
 * Answer q from web_dir: /assets/<name> as a cached file, /api/... as a
 * JSON 404, anything else as index.html (the app routes on the client).
 * Sends exactly one response.
 */
void wbs__static_serve(wbs__req *q, const char *web_dir);

#endif /* WB_SERVER_HTTP_STATIC_H */
