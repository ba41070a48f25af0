/*
 * rule.h — threshold rules for notifications, defined on the server
 * without code changes. The grammar (one rule per string, case-sensitive
 * keywords, blanks between tokens):
 *
 *   rule     := "summary" KEY OP NUMBER | "no step for" NUMBER UNIT
 *   OP       := ">" | ">=" | "<" | "<=" | "==" | "!="
 *   UNIT     := "s" | "sec" | "seconds" | "m" | "min" | "minutes" | "h" | "hours"
 *               (NUMBER and UNIT may touch: "15min")
 *
 * KEY is a metric key (1..255 bytes, no blanks, no '"', not starting with
 * '_'); NUMBER a finite decimal. Examples: "summary val/loss > 2",
 * "no step for 15 min".
 *
 * A summary rule is evaluated where the run's summary is written (an SQL
 * trigger, schema/migrations/004_notify.sql); a stall rule by the notifier
 * thread once a second. Each fires at most once per run.
 *
 * Threads: no shared state.
 */
#ifndef WB_SERVER_NOTIFY_RULE_H
#define WB_SERVER_NOTIFY_RULE_H

#include <stddef.h>

#define WBS__RULE_TEXT_MAX 400u
#define WBS__RULE_STALL_MAX (30.0 * 86400.0)

enum wbs__rule_kind { WBS__RULE_SUMMARY = 1, WBS__RULE_STALL = 2 };

typedef struct wbs__rule {
	int kind;
	char key[256];  /* SUMMARY: the summary key */
	char path[264]; /* SUMMARY: the SQLite JSON path $."key" */
	char op[3];     /* SUMMARY */
	double threshold;
	double seconds; /* STALL */
	char text[WBS__RULE_TEXT_MAX + 1]; /* normalised text, e.g. "summary val/loss > 2" */
} wbs__rule;

/* Parse text into *out. 0, or -1 with a one-line reason in why. */
int wbs__rule_parse(const char *text, wbs__rule *out, char *why, size_t whylen);

#endif /* WB_SERVER_NOTIFY_RULE_H */
