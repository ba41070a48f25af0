/*
 * store_acct.h — accounts, permissions and reports in the store: users,
 * teams and their members, API keys per user, browser sessions, one-time
 * setup tokens, project visibility and members, and reports with every
 * version kept.
 *
 * Like store.h, no SQL or sqlite3 type crosses this line. Secrets arrive
 * here already hashed (SHA-256 of tokens, scrypt strings of passwords;
 * server/auth does the hashing). List functions return rows as column
 * names and typed cells (wbs__acct_rows); the HTTP side writes the API's
 * JSON from them (handlers_acct.c), as for every other store read.
 *
 * Errors: WBS__ST_NOTFOUND for a missing user/team/key/report,
 * WBS__ST_CONFLICT for a name that is taken or a stale report version,
 * WBS__ST_BADARG for a rule broken (e.g. removing a team's last admin).
 *
 * Threads: as store.h — any thread between open and close.
 */
#ifndef WB_SERVER_STORE_ACCT_H
#define WB_SERVER_STORE_ACCT_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/buf.h"

/*
 * Rows of an accounts read: ncols column names (the SQL's, which are the
 * API's member names) and nrows * ncols cells, row by row, typed as SQLite
 * gave them (text copied, NUL-terminated). wbs__acct_rows_free frees what
 * a read filled, also after a failure, and zeroes t.
 */
enum { WBS__CELL_NULL, WBS__CELL_INT, WBS__CELL_REAL, WBS__CELL_TEXT };
typedef struct wbs__acct_cell {
	int type;
	int64_t i;
	double d;
	char *text;
	size_t len;
} wbs__acct_cell;
typedef struct wbs__acct_rows {
	char **cols;
	wbs__acct_cell *cells;
	size_t ncols, nrows;
} wbs__acct_rows;
void wbs__acct_rows_free(wbs__acct_rows *t);

/* Roles, ordered: a higher role can do what a lower one can. */
enum { WBS__ROLE_NONE = 0, WBS__ROLE_VIEWER, WBS__ROLE_EDITOR, WBS__ROLE_ADMIN };

/* "viewer"/"editor"/"admin" → role, anything else → WBS__ROLE_NONE. */
int wbs__role_parse(const char *s);
const char *wbs__role_name(int role);

/* Who made a request. */
typedef struct wbs__principal {
	int64_t user_id; /* 0: nobody */
	char name[72];
	int is_admin;     /* server admin */
	char csrf[48];    /* sessions only: the token state-changing requests must echo */
} wbs__principal;

/* The user of a live API key / an unexpired session with this SHA-256; NOTFOUND otherwise. */
int wbs__store_principal_key(wbs__store *s, const uint8_t hash[32], wbs__principal *p, wbs__err *err);
int wbs__store_principal_session(wbs__store *s, const uint8_t hash[32], wbs__principal *p, wbs__err *err);

/* What user_id (0: anonymous) may do with entity[/project]. */
typedef struct wbs__access {
	int project_exists;
	int is_public;   /* the project's visibility is public */
	int entity_role; /* own name or server admin: admin; team member: the team role */
	int role;        /* on the project: max(entity_role, project member role) */
} wbs__access;
int wbs__store_access(wbs__store *s, int64_t user_id, const char *entity, const char *project, wbs__access *a,
		      wbs__err *err);

/* ---- users ---- */
/* Create a user; CONFLICT if a user or team has the name. */
int wbs__store_user_create(wbs__store *s, const char *name, int is_admin, int64_t *id, wbs__err *err);
/* Mark an existing user server admin. */
int wbs__store_user_set_admin(wbs__store *s, const char *name, wbs__err *err);
/* id, is_admin and the password hash (malloc'd, NULL when none set or the user is deactivated; caller frees). */
int wbs__store_user_get(wbs__store *s, const char *name, int64_t *id, int *is_admin, char **pw_hash, wbs__err *err);
/* name (cap bytes) and is_admin of user id. */
int wbs__store_user_name(wbs__store *s, int64_t id, char *name, size_t cap, int *is_admin, wbs__err *err);
int wbs__store_user_set_password(wbs__store *s, int64_t user_id, const char *pw_hash, wbs__err *err);
/*
 * Deactivate (active 0) or reactivate a user by name; NOTFOUND if none.
 * Deactivating ends their sessions and setup links; while deactivated none
 * of their keys or sessions resolve and their name stays taken.
 */
int wbs__store_user_set_active(wbs__store *s, const char *name, int active, wbs__err *err);
/* [{"name","is_admin","has_password","is_active","created_at","deactivated_at"}...] */
int wbs__store_users_list(wbs__store *s, wbs__acct_rows *out, wbs__err *err);

/* ---- setup tokens and sessions ---- */
/* Replace the user's setup tokens with this one. */
int wbs__store_setup_add(wbs__store *s, int64_t user_id, const uint8_t hash[32], double expires_at, wbs__err *err);
/* The (active) user of a live setup token; NOTFOUND if none. */
int wbs__store_setup_user(wbs__store *s, const uint8_t hash[32], int64_t *user_id, wbs__err *err);
/* Use a live setup token: set the password, drop the user's tokens, *user_id. NOTFOUND if none. */
int wbs__store_setup_use(wbs__store *s, const uint8_t hash[32], const char *pw_hash, int64_t *user_id, wbs__err *err);
int wbs__store_session_add(wbs__store *s, int64_t user_id, const uint8_t hash[32], const char *csrf, double expires_at,
			   wbs__err *err);
int wbs__store_session_delete(wbs__store *s, const uint8_t hash[32], wbs__err *err);

/* ---- API keys of a user ---- */
int wbs__store_user_key_add(wbs__store *s, int64_t user_id, const uint8_t hash[32], const char *prefix,
			    const char *name, int64_t *id, wbs__err *err);
/* [{"id","prefix","name","created_at","revoked_at"}...] of one user. */
int wbs__store_user_keys(wbs__store *s, int64_t user_id, wbs__acct_rows *out, wbs__err *err);
/* Revoke the user's key id; NOTFOUND if it is not theirs or already revoked. */
int wbs__store_user_key_revoke(wbs__store *s, int64_t user_id, int64_t key_id, wbs__err *err);

/* ---- teams ---- */
/* Create team name with owner as its admin; CONFLICT if the name is taken, or if projects exist under it
 * and the owner is no server admin (a team would adopt them). */
int wbs__store_team_create(wbs__store *s, const char *name, int64_t owner, int owner_is_admin, wbs__err *err);
/* [{"name","role","created_at"}] of user_id's teams; all teams (role null when not a member) if all. */
int wbs__store_teams_list(wbs__store *s, int64_t user_id, int all, wbs__acct_rows *out, wbs__err *err);
/* [{"user","role"}] */
int wbs__store_team_members(wbs__store *s, const char *team, wbs__acct_rows *out, wbs__err *err);
/* Set (role > 0) or remove (role 0) a member. BADARG when it would leave no admin. */
int wbs__store_team_member_set(wbs__store *s, const char *team, const char *user, int role, wbs__err *err);

/* ---- projects ---- */
/* Create the project if new; set its visibility when visibility is not NULL. */
int wbs__store_project_upsert(wbs__store *s, const char *entity, const char *project, const char *visibility,
			      wbs__err *err);
/* Set an existing project's created_at and updated_at (unix seconds, checked by the caller): what
 * `wb import` restores, so a project keeps its times across export and import. */
int wbs__store_project_times(wbs__store *s, const char *entity, const char *project, double created_at,
			     double updated_at, wbs__err *err);
/* [{"user","role"}] */
int wbs__store_project_members(wbs__store *s, const char *entity, const char *project, wbs__acct_rows *out, wbs__err *err);
int wbs__store_project_member_set(wbs__store *s, const char *entity, const char *project, const char *user, int role,
				  wbs__err *err);

/* ---- reports ---- */
/* [{"id","title","version","updated_at","author"}...] newest first. */
int wbs__store_reports_list(wbs__store *s, const char *entity, const char *project, wbs__acct_rows *out, wbs__err *err);
int wbs__store_report_create(wbs__store *s, const char *entity, const char *project, int64_t author, const char *title,
			     const char *body, int64_t *id, wbs__err *err);
/* A new version; CONFLICT when base_version >= 0 is not the current version. *version: the new one. */
int wbs__store_report_update(wbs__store *s, const char *entity, const char *project, int64_t id, int64_t author,
			     const char *title, const char *body, int64_t base_version, int64_t *version,
			     wbs__err *err);
/* {"id","title","body","version","author","updated_at","created_at","created_by"} of version (0: latest). */
int wbs__store_report_get(wbs__store *s, const char *entity, const char *project, int64_t id, int64_t version,
			  wbs__acct_rows *out, wbs__err *err);
/* [{"version","title","author","created_at"}...] newest first. */
int wbs__store_report_versions(wbs__store *s, const char *entity, const char *project, int64_t id,
			       wbs__acct_rows *out, wbs__err *err);
int wbs__store_report_delete(wbs__store *s, const char *entity, const char *project, int64_t id, wbs__err *err);

#endif /* WB_SERVER_STORE_ACCT_H */
