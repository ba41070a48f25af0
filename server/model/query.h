/*
 * query.h — the filter and sort language of `GET .../runs` (schema/api.md),
 * parsed into a form the store turns into SQL with bound parameters.
 *
 *   filter=<field><op><value>   fields: state name group job_type tags created_at
 *                                        duration notes user config.<dotted path> summary.<key>
 *                               ops:    = != < <= > >= ~ (substring, case-insensitive)
 *   sort=[-]<field>             fields: any filter field
 *   group_by=<field>            fields: any filter field but created_at, duration, notes
 *   agg=<field>                 (repeatable) config.<path> summary.<key> duration created_at
 *
 * `duration` is finished_at (or, while running, now; else the last
 * heartbeat or update) minus created_at, in seconds; `user` is the user the
 * SDK recorded in the run's metadata.
 *
 * Nothing a user types ever becomes SQL text: config and summary paths are
 * turned into SQLite JSON paths ($."a"."b") that the store binds as
 * parameters. A key SQLite's path syntax cannot quote (one holding '"',
 * '\' or a control byte) becomes a JSON array of its labels instead, also
 * bound as a parameter, which the store looks up key by key. A value that
 * parses as a finite number (or true/false on a config/summary field)
 * compares numerically.
 *
 * Threads: no shared state.
 */
#ifndef WB_SERVER_QUERY_H
#define WB_SERVER_QUERY_H

#include <stddef.h>
#include <stdint.h>

#define WBS__FILTERS_MAX 16u
#define WBS__FILTER_VALUE_MAX 1024u
#define WBS__CONFIG_PATH_PARTS_MAX 16u
#define WBS__QPATHS_MAX 3u
#define WBS__AGGS_MAX 16u
#define WBS__RUNS_LIMIT_DEFAULT 50u
#define WBS__RUNS_LIMIT_MAX 1000u
#define WBS__RUNS_OFFSET_MAX 1000000000ull

enum wbs__qfield {
	WBS__QF_STATE,
	WBS__QF_NAME,
	WBS__QF_GROUP,
	WBS__QF_JOB_TYPE,
	WBS__QF_TAGS,
	WBS__QF_CREATED_AT,
	WBS__QF_CONFIG,
	WBS__QF_SUMMARY,
	WBS__QF_DURATION,
	WBS__QF_NOTES,
	WBS__QF_USER
};

/* What a field reference is parsed for: each takes a different set of fields. */
enum wbs__quse { WBS__QU_SORT, WBS__QU_GROUP, WBS__QU_AGG };

enum wbs__qop { WBS__OP_EQ, WBS__OP_NE, WBS__OP_LT, WBS__OP_LE, WBS__OP_GT, WBS__OP_GE, WBS__OP_SUB };

typedef struct wbs__filter {
	int field; /* wbs__qfield */
	int op;    /* wbs__qop */
	/* config/summary: JSON paths tried in order, the first non-null wins */
	char *paths[WBS__QPATHS_MAX];
	size_t npaths;
	char *text; /* the value as given */
	int is_num;
	double num;
	int is_int;   /* the value is an integer literal that fits int64: compared exactly as inum */
	int64_t inum; /* (a double would round 9007199254740993 to ...992) */
} wbs__filter;

/* A field reference: a sort key, a group-by field or an aggregated column. */
typedef struct wbs__sort {
	int field; /* wbs__qfield */
	char *paths[WBS__QPATHS_MAX];
	size_t npaths;
	int desc;
} wbs__sort;

typedef struct wbs__runs_query {
	wbs__filter filters[WBS__FILTERS_MAX];
	size_t nfilters;
	wbs__sort sort;   /* default: -created_at */
	uint32_t limit;  /* 1..1000 */
	uint64_t offset; /* 0..1e9 */
	/* group_by: when grouped, limit/offset page the groups, not the runs */
	int grouped;
	wbs__sort group_by;
	wbs__sort aggs[WBS__AGGS_MAX];
	size_t naggs;
} wbs__runs_query;

/* Set the defaults (no filter, -created_at, limit 50, offset 0). */
void wbs__runs_query_init(wbs__runs_query *q);
void wbs__runs_query_free(wbs__runs_query *q);

/* Parse one filter expression into f (freed by wbs__runs_query_free via q, or
 * wbs__filter_free). 0, or -1 with a one-line message in err. */
int wbs__filter_parse(wbs__filter *f, const char *s, char *err, size_t errlen);
void wbs__filter_free(wbs__filter *f);

/* Parse a sort expression. 0, or -1 with err. */
int wbs__sort_parse(wbs__sort *s, const char *str, char *err, size_t errlen);
/* Parse a group-by field (use WBS__QU_GROUP) or an aggregated column
 * (WBS__QU_AGG) into s (desc stays 0). 0, or -1 with err. */
int wbs__field_parse(wbs__sort *s, const char *str, int use, char *err, size_t errlen);
void wbs__sort_free(wbs__sort *s);

/* 0 when path is a SQLite JSON path ($...), else the number of labels of
 * the JSON array it is (["a\"b","c"] → 2). */
size_t wbs__qpath_labels(const char *path);

#endif /* WB_SERVER_QUERY_H */
