/*
 * settings_file.h — which server, which API key: the part of libwb's
 * settings (settings.c) that the wb CLI needs too. A command resolves its
 * server and key exactly as wb_run_init does, and a key read from the
 * settings file goes only to its own origin, so the CLI calls these rather
 * than keep a second reading of the file. Internal to libwb and the wb CLI,
 * which links libwb statically; not installed, not a published API.
 */
#ifndef WB_SETTINGS_FILE_H
#define WB_SETTINGS_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h" /* WB__HIDDEN */

#define WB__DEFAULT_BASE_URL "http://127.0.0.1:8080"

/*
 * The settings file is $WB_CONFIG_DIR/settings, else
 * $XDG_CONFIG_HOME/wb/settings, else $HOME/.config/wb/settings. A missing
 * or unreadable file only means "no values from it".
 */

/* The file's base_url (the default server) into *base_url: malloc'd, or
 * NULL when the file names none. WB_OK or WB_ENOMEM. */
WB__HIDDEN int wb__settings_file_read(char **base_url);

/*
 * The API key that may be sent to the server at url (a base URL, or any
 * URL on that server), into *key (malloc'd, or NULL: send none): opt_key
 * if set, else WB_API_KEY — a key the user named goes where they point it;
 * else the settings file's key for url's origin: its api_key@URL line of
 * that origin, else its api_key line when the file's base_url (the
 * built-in default when it names none) has that origin. Origins compare
 * scheme, host (any case) and port (80 and 443 when not written); path and
 * credentials in the URL do not count. A file key never goes to another
 * origin — not even the same machine under another name (localhost and
 * 127.0.0.1 are two servers here). WB_OK or WB_ENOMEM.
 */
WB__HIDDEN int wb__settings_key_for(const char *url, const char *opt_key, char **key);

/* The entity the settings file records beside its key for url's origin
 * (the key owner's, written by `wb login` and the server's first start),
 * into *entity (malloc'd), when key is that key; else NULL. WB_OK or
 * WB_ENOMEM. */
WB__HIDDEN int wb__settings_entity_for(const char *url, const char *key, char **entity);

/* The entity of the owner of key (the key for url): what the settings
 * file records beside it, else the server's answer at
 * /api/v1/auth/session, retried within timeout_ms. This is where a run
 * goes when no entity is given (wb_run_init, wb sync, wb tensorboard
 * import). *entity is malloc'd (the caller frees) or NULL on error.
 * WB_OK, WB_EAUTH (the server knows no user for the key), or a transport
 * error (wb_errmsg says which). Implemented in sync.c. */
WB__HIDDEN int wb__owner_entity(const char *url, const char *key, int64_t timeout_ms, char **entity);

/* Why no key went to url, for the message of a 401: into buf (always a
 * NUL-terminated sentence, without any key). Reads the settings file. */
WB__HIDDEN void wb__settings_no_key_why(const char *url, char *buf, size_t cap);

/* 1 if the http(s) URLs a and b have the same origin (scheme, host, port), else 0. */
WB__HIDDEN int wb__same_origin(const char *a, const char *b);

/* The value of a string setting: opt if set, else getenv(env) if set and
 * not empty, else NULL. Borrowed, not copied. */
WB__HIDDEN const char *wb__setting_str(const char *opt, const char *env);

/* Check and normalise a base URL (http:// or https://, trailing '/'
 * removed, in place). WB_OK or WB_EINVAL. */
WB__HIDDEN int wb__base_url_check(char *url);

#endif /* WB_SETTINGS_FILE_H */
