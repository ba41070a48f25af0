/*
 * auth.h — API keys and the settings file.
 *
 * A key is "wb_" followed by 40 base62 characters from getrandom(2)
 * (~238 bits). The server stores only its SHA-256; a request's Bearer key
 * is hashed and looked up. Keys are never logged.
 *
 * On first start (no key in the database) the server creates the "admin"
 * user and a key and writes the settings file where libwb and the CLI look:
 * $WB_CONFIG_DIR/settings, else $XDG_CONFIG_HOME/wb/settings, else
 * $HOME/.config/wb/settings (mode 0600, lines base_url=... and api_key=...).
 * On later starts, if that file holds a key this server accepts, its
 * base_url line is rewritten with the current address.
 *
 * Threads: no shared state; wbs__auth_bootstrap runs once at startup.
 */
#ifndef WB_SERVER_AUTH_H
#define WB_SERVER_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define WBS__KEY_LEN 43u /* "wb_" + 40 */
#define WBS__KEY_PREFIX_LEN 7u

/* A new random key into out (NUL-terminated). 0, or -1 if the kernel gave no randomness. */
int wbs__key_generate(char out[WBS__KEY_LEN + 1]);

/* SHA-256 of key[0..len). */
void wbs__key_hash(const char *key, size_t len, uint8_t out[32]);

/* The settings file path by the rules above. 0, or -1 if no variable gives a directory or it does not fit. */
int wbs__settings_path(char *out, size_t cap);

/* The api_key value of a settings file. 0, or -1 if the file or the line is missing. */
int wbs__settings_read_key(const char *path, char *key, size_t cap);

/*
 * Write path atomically (temporary file, fsync, rename) with mode 0600,
 * creating its directory (0700) if needed. If api_key is NULL the file's
 * other lines are kept and only base_url is replaced (or added). 0, or -1
 * with a message in err.
 */
int wbs__settings_write(const char *path, const char *base_url, const char *api_key, char *err, size_t errlen);

/*
 * First-start and later-start handling described above, for a server
 * reachable at base_url. 0, or -1 with a message in err (the server should
 * not start: nobody could use it).
 */
int wbs__auth_bootstrap(wbs__store *s, const char *base_url, char *err, size_t errlen);

#endif /* WB_SERVER_AUTH_H */
