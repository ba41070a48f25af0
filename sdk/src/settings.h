/*
 * settings.h — wb_run_init options resolved against the environment, the
 * settings file and the defaults.
 */
#ifndef WB_SETTINGS_H
#define WB_SETTINGS_H

#include <stddef.h>

#include "launcher.h"
#include "wire.h"

#define WB__DEFAULT_BASE_URL "http://127.0.0.1:8080"
#define WB__DEFAULT_PROJECT "uncategorized"
#define WB__DEFAULT_DIR "./wb"
#define WB__DEFAULT_BUFFER_BYTES (8u * 1024u * 1024u)
#define WB__MIN_BUFFER_BYTES (64u * 1024u)
#define WB__MAX_BUFFER_BYTES (1024u * 1024u * 1024u)
#define WB__DEFAULT_FINISH_TIMEOUT_MS 30000u
#define WB__DEFAULT_HEARTBEAT_MS 10000u
#define WB__MIN_HEARTBEAT_MS 100u
#define WB__DEFAULT_SYSTEM_SAMPLE_MS 10000
#define WB__MIN_SYSTEM_SAMPLE_MS 10
#define WB__TEXT_MAX 128u           /* name, job_type */
#define WB__NOTES_MAX (64u * 1024u)
#define WB__TAGS_MAX 64u
#define WB__TAG_LEN_MAX 64u

/* Every setting of a run, resolved. Strings are malloc'd and owned by the
 * struct; optional ones are NULL when unset. */
typedef struct wb__settings {
	wb_mode mode;           /* never WB_MODE_DEFAULT after loading */
	char *project;
	char *entity;           /* NULL: the key owner's, not known yet (ask the server: wb__whoami) */
	char *name;             /* NULL: choose one (new run) or keep the server's (resume) */
	char *group;
	char *job_type;
	char *notes;
	char **tags;            /* ntags strings, or NULL when WB_TAGS/tags is unset */
	size_t ntags;
	char *run_id;           /* NULL: a new run */
	char *base_url;         /* no trailing '/' */
	char *api_key;          /* may be NULL (a server without auth); never printed */
	char *dir;
	size_t buffer_bytes;
	unsigned int finish_timeout_ms;
	unsigned int heartbeat_ms;
	/* since wb_init_options version 2 */
	int disable_git;        /* WB_DISABLE_GIT=1 */
	size_t git_patch_max;   /* WB_GIT_PATCH_MAX, at most WB__GIT_PATCH_MAX_LIMIT */
	int system_sample_ms;   /* WB_SYSTEM_SAMPLE_MS; < 0: off */
	char *ca_file;          /* WB_CA_FILE: PEM CA bundle to verify an https server; NULL: the system's */
	wb__launcher launcher;  /* the distributed launcher found, kind NULL if none */
} wb__settings;

/*
 * Resolve opts (may be NULL) into s: each field from opts, else its WB_*
 * environment variable, else (base_url and api_key) the settings file, else
 * the default. Names are validated. In disabled mode only s->mode is set.
 * The entity, when none is given: with an API key, its owner's entity as
 * the settings file recorded it beside that key, else NULL (the caller
 * asks the server, wb__whoami, when it may); without a key, the login
 * user name.
 * WB_OK, WB_EINVAL (with errmsg naming the field) or WB_ENOMEM. On error s
 * holds nothing to free; on success free it with wb__settings_free().
 */
WB__HIDDEN int wb__settings_load(wb__settings *s, const wb_init_options *opts);

WB__HIDDEN void wb__settings_free(wb__settings *s);

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

#endif /* WB_SETTINGS_H */
