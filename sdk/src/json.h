/*
 * json.h — the SDK's JSON conventions on top of cJSON.
 */
#ifndef WB_JSON_H
#define WB_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "json_exact.h"
#include "wire.h"

/* A JSON value for a double: the shortest decimal that reads back to the
 * same bits, or the string "NaN", "Infinity", "-Infinity". NULL on ENOMEM. */
WB__HIDDEN cJSON *wb__json_double(double v);

/* A JSON number printed exactly from an int64 (cJSON itself stores
 * doubles and would round above 2^53). NULL on ENOMEM. */
WB__HIDDEN cJSON *wb__json_int(int64_t v);

/* Print item compactly (numbers exactly, as wb__json_print_exact) into a
 * malloc'd string. WB_OK or WB_ENOMEM. */
WB__HIDDEN int wb__json_print(const cJSON *item, char **out, size_t *len);

/* Parse len bytes (no NUL needed) without touching cJSON's global error
 * pointer (thread-safe). NULL if invalid or out of memory. */
WB__HIDDEN cJSON *wb__json_parse(const char *buf, size_t len);

/*
 * Replace every invalid UTF-8 sequence in the strings and keys of item (and
 * below) by U+FFFD, in place. For text the SDK collects itself (argv, paths,
 * git names): the server refuses a record with invalid UTF-8, which would
 * stop the run's upload. WB_OK or WB_ENOMEM (item may then be partly fixed).
 */
WB__HIDDEN int wb__json_utf8_fix(cJSON *item);

/* obj[key] as a non-negative integer: 1 and *out, or 0 if absent/not one. */
WB__HIDDEN int wb__json_get_u64(const cJSON *obj, const char *key, uint64_t *out);

/* obj[key] as an integer (may be negative): 1 and *out, or 0. */
WB__HIDDEN int wb__json_get_i64(const cJSON *obj, const char *key, int64_t *out);

/* obj[key] as a string: the string (owned by obj) or NULL. */
WB__HIDDEN const char *wb__json_get_str(const cJSON *obj, const char *key);

#endif /* WB_JSON_H */
