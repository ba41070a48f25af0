/*
 * buf.h — a growing byte buffer with a hard maximum, and the JSON writer
 * the server uses for every response and every JSON column it stores.
 *
 * Errors are sticky (like curl's dynbuf): once an append would pass the
 * maximum or malloc fails, b->err is set, later appends do nothing, and the
 * caller checks once at the end. That keeps long emit sequences readable
 * without a check after every call.
 *
 * Numbers: JSON has no NaN or infinities, so a non-finite double is written
 * as the string "NaN", "Infinity" or "-Infinity" (schema/wire.md). A finite
 * double is written in the shortest of %.15g/%.16g/%.17g that parses back to
 * the same bits, so every value round-trips exactly; cJSON's own printer
 * accepts an approximate match and is therefore never used for output.
 *
 * Threads: a wbs__buf belongs to one thread at a time; the functions keep no
 * global state.
 */
#ifndef WB_SERVER_BUF_H
#define WB_SERVER_BUF_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

enum wbs__buf_err { WBS__BUF_OK = 0, WBS__BUF_TOOBIG = 1, WBS__BUF_NOMEM = 2 };

typedef struct wbs__buf {
	char *p;    /* NUL-terminated while len < cap; NULL until the first append */
	size_t len; /* bytes used */
	size_t cap; /* bytes allocated */
	size_t max; /* len never exceeds this */
	int err;    /* wbs__buf_err, sticky */
} wbs__buf;

void wbs__buf_init(wbs__buf *b, size_t max);
void wbs__buf_free(wbs__buf *b);
/* Forget the contents, keep the memory and the maximum; clears err. */
void wbs__buf_reset(wbs__buf *b);
/* Hand the contents to the caller (free() it; never NULL unless err) and reset b. */
char *wbs__buf_take(wbs__buf *b);

void wbs__buf_put(wbs__buf *b, const void *data, size_t n);
void wbs__buf_puts(wbs__buf *b, const char *s);
void wbs__buf_putc(wbs__buf *b, char c);
void wbs__buf_printf(wbs__buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Format d into out: shortest round-trip decimal for a finite value,
 * "NaN"/"Infinity"/"-Infinity" otherwise (without quotes). Returns the
 * length. out needs 32 bytes.
 */
size_t wbs__fmt_double(char out[32], double d);
/* Same with %.17g for finite values: exact and faster, but not shortest. */
size_t wbs__fmt_double17(char out[32], double d);
/* Format v in decimal. out needs 24 bytes. Returns the length. */
size_t wbs__fmt_i64(char out[24], int64_t v);

/* A JSON string: quoted, escaped; invalid UTF-8 becomes U+FFFD. */
void wbs__json_str(wbs__buf *b, const char *s, size_t n);
void wbs__json_cstr(wbs__buf *b, const char *s); /* NULL writes null */
/* A JSON number (shortest round-trip) or "NaN"/"Infinity"/"-Infinity" as a string. */
void wbs__json_num(wbs__buf *b, double d);
/* Same with %.17g (bulk export). */
void wbs__json_num17(wbs__buf *b, double d);
void wbs__json_i64(wbs__buf *b, int64_t v);
/* JSON arrays of n numbers: [v0,v1,...], doubles as wbs__json_num. */
void wbs__json_i64s(wbs__buf *b, const int64_t *v, size_t n);
void wbs__json_nums(wbs__buf *b, const double *v, size_t n);
void wbs__json_u32s(wbs__buf *b, const uint32_t *v, size_t n);
/* A number, or null when d is NaN (an absent time or rate). */
void wbs__json_num_or_null(wbs__buf *b, double d);
/* Write a cJSON tree; numbers as their own text when parsed by wb__json_parse_exact (which keeps it in
 * valuestring), else as wbs__json_num. Nesting deeper than 64 sets WBS__BUF_TOOBIG. */
void wbs__json_tree(wbs__buf *b, const cJSON *item);

/* 1 if s[0..n) is valid UTF-8 (no overlongs, no surrogates). */
int wbs__utf8_valid(const char *s, size_t n);

/* Numbers out of a large text (an export answer, an archive's CSV), read
 * by hand: strtoll may scan the whole rest of the text (the sanitizers'
 * interceptors do), which makes a long series quadratic. A decimal int64 /
 * 1 to 16 hex digits at p: the end, or NULL (none, or out of range). */
const char *wbs__scan_i64(const char *p, long long *out);
const char *wbs__scan_hex64(const char *p, uint64_t *out);

#endif /* WB_SERVER_BUF_H */
