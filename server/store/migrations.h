/*
 * migrations.h — the schema migrations embedded at build time from
 * schema/migrations/NNN_name.sql (see server/cmake/embed_migrations.cmake).
 * wbs__migrations[i].version == i + 1. Applied in order by the store at
 * open, each inside the same transaction as the PRAGMA user_version bump.
 */
#ifndef WB_SERVER_MIGRATIONS_H
#define WB_SERVER_MIGRATIONS_H

#include <stddef.h>

struct wbs__migration {
	int version;
	const char *name;
	const char *sql;
};

extern const struct wbs__migration wbs__migrations[];
extern const size_t wbs__migrations_count;

#endif /* WB_SERVER_MIGRATIONS_H */
