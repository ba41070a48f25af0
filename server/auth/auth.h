/*
 * auth.h — API keys and the settings file.
 *
 * A key is "wb_" followed by 40 base62 characters from getrandom(2)
 * (~238 bits). The server stores only its SHA-256; a request's Bearer key
 * is hashed and looked up. Keys are never logged.
 *
 * On first start (no key in the database) the server creates the "admin"
 * user (a server admin) and a key and writes the settings file where libwb
 * and the CLI look:
 * $WB_CONFIG_DIR/settings, else $XDG_CONFIG_HOME/wb/settings, else
 * $HOME/.config/wb/settings (mode 0600, lines base_url=..., api_key=... and
 * entity=admin, the key owner's entity).
 * On later starts, if that file holds a key this server accepts, its
 * base_url line is rewritten with the current address. While the admin
 * has no password, every start logs a fresh one-time setup link
 * (base_url/setup?token=...) to set it in the browser.
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
 * other lines are kept and only base_url is replaced (or added); else
 * api_key becomes the default key, with entity (the key owner's entity,
 * may be NULL: not known) on an entity= line beside it, and the previous
 * default key and its entity move to api_key@URL and entity@URL. 0, or -1
 * with a message in err.
 */
int wbs__settings_write(const char *path, const char *base_url, const char *api_key, const char *entity, char *err,
			size_t errlen);

/*
 * First-start and later-start handling described above, for a server
 * reachable at base_url. 0, or -1 with a message in err (the server should
 * not start: nobody could use it).
 */
int wbs__auth_bootstrap(wbs__store *s, const char *base_url, char *err, size_t errlen);

/*
 * Passwords: scrypt (OpenSSL's EVP_PBE_scrypt; N = 2^15, r = 8, p = 1,
 * 32 MiB per hash) with a random 16-byte salt, encoded with its parameters
 * as "scrypt$N$r$p$<salt base64>$<hash base64>" so that they can be raised
 * later without invalidating stored hashes.
 */
#define WBS__PASSWORD_MIN 8u
#define WBS__PASSWORD_MAX 1024u
#define WBS__PASSWORD_HASH_MAX 160u
/*
 * Whether pw may be set as user's password (NIST SP 800-63B: at least
 * WBS__PASSWORD_MIN characters, not a dictionary word or a common or
 * systematic password, not built on the user name; no composition rules).
 * libpwquality decides, with cracklib's dictionary and wb's own settings
 * (not /etc/security/pwquality.conf, so every server judges alike).
 * 0 accepted; 1 refused, with the reason in why (one line, for the user);
 * -1 the checker cannot work (no dictionary), with why for the log.
 * Any thread (calls are serialised: cracklib is not thread-safe).
 */
int wbs__password_check(const char *pw, const char *user, char *why, size_t cap);
/* Encode a hash of pw into out. 0, or -1 (no randomness or out of memory). */
int wbs__password_hash(const char *pw, char out[WBS__PASSWORD_HASH_MAX]);
/* 1 if pw matches encoded (compared in constant time), else 0. */
int wbs__password_verify(const char *pw, const char *encoded);

/* A new random token (same form as a key), for sessions, CSRF and setup links. */
#define wbs__token_generate wbs__key_generate

/* Seconds a setup link stays valid. */
#define WBS__SETUP_TTL (24.0 * 3600.0)

/*
 * A one-time setup link for user_id: a new token (replacing the user's
 * earlier ones) whose hash is stored; the link base_url/setup?token=...
 * is written to link. 0, or -1 with err.
 */
int wbs__setup_link(wbs__store *s, int64_t user_id, const char *base_url, char *link, size_t cap, char *err,
		    size_t errlen);

#endif /* WB_SERVER_AUTH_H */
