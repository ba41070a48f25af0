/*
 * settings.h — wb_run_init options resolved against the environment, the
 * settings file and the defaults.
 */
#ifndef WB_SETTINGS_H
#define WB_SETTINGS_H

#include <stddef.h>

#include "launcher.h"
#include "settings_file.h"
#include "sweep.h"
#include "wire.h"

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
	wb__sweep_join sweep;   /* a trial of a sweep (WB_SWEEP_*, sweep.h): params NULL if not one */
} wb__settings;

/*
 * Resolve opts (may be NULL) into s: each field from opts, else its WB_*
 * environment variable, else (base_url and api_key) the settings file, else
 * the default. Names are validated. In disabled mode only s->mode and
 * s->sweep are set (a rank that records nothing still reads its parameters).
 * A sweep trial under a launcher (`wb agent -- mpirun ./train`) is one
 * group named by the trial's run id (WB_RUN_ID): rank 0 is that run, rank r
 * the run <id>-rank<r>.
 * The entity, when none is given: with an API key, its owner's entity as
 * the settings file recorded it beside that key, else NULL (the caller
 * asks the server, wb__whoami, when it may); without a key, the login
 * user name.
 * WB_OK, WB_EINVAL (with errmsg naming the field) or WB_ENOMEM. On error s
 * holds nothing to free; on success free it with wb__settings_free().
 */
WB__HIDDEN int wb__settings_load(wb__settings *s, const wb_init_options *opts);

WB__HIDDEN void wb__settings_free(wb__settings *s);

#endif /* WB_SETTINGS_H */
