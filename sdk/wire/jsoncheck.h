/*
 * jsoncheck.h — refuse the JSON that cJSON would silently change.
 *
 * cJSON accepts, and quietly alters, four things a client may send: a
 * string holding "\u0000" (or a raw NUL byte) is cut there, so "a\u0000b"
 * is stored as "a"; invalid UTF-8 is kept as it is; a key given twice in one
 * object is kept twice (and the first wins on lookup); a number past the
 * range of a double (1e400) becomes ±inf, which is then written back as
 * null or "Infinity". wb__json_check walks the raw text once and refuses
 * each of them with the JSON path of the field, so a request or a frame
 * carrying one is answered 400 and writes nothing. The server's
 * wbs__json_parse (server/model/fields.h) runs it on every network JSON
 * text; the SDK runs it on JSON text a trainer hands it (wb_run_log_table,
 * wb_artifact_set_metadata), which it would otherwise send changed.
 *
 * Threads: no shared state.
 */
#ifndef WB_JSONCHECK_H
#define WB_JSONCHECK_H

#include <stddef.h>

#include "wire.h"

enum wb__json_check_rc {
	WB__JSON_OK = 0,
	WB__JSON_REFUSED = 1, /* one of the four above; why is "$.path: reason" */
	WB__JSON_SYNTAX = 2,  /* not JSON; why is "not valid json at byte N" */
	WB__JSON_NOMEM = -1   /* why is "out of memory" */
};

/*
 * Check text[0..len) (need not be NUL-terminated): the first JSON value in
 * it, with the grammar cJSON accepts, where
 *   - no string or key holds a NUL (the escape \u0000 or a raw 0 byte);
 *   - every string and key is UTF-8 with no overlong form, no surrogate and
 *     nothing past U+10FFFF, and every \uD800-\uDFFF escape is half of a
 *     high-low pair;
 *   - no object has two members whose decoded keys are equal;
 *   - no number overflows a double to ±inf (1e400, -1e400; underflow to 0
 *     and rounding are ordinary double behaviour and pass).
 * Text after the value is not looked at (the caller's parser refuses it).
 * Returns a wb__json_check_rc with a one-line message in why (always
 * NUL-terminated when whylen > 0); the path names the offending field as
 * $.config.optimizer.lr, $.tags[2] or $["a.b"] (non-identifier keys are
 * quoted), and the containing object for a bad key. Cost: one pass, no
 * allocation below 64 keys in the open objects or 64 levels of nesting.
 */
WB__HIDDEN int wb__json_check(const char *text, size_t len, char *why, size_t whylen);

#endif /* WB_JSONCHECK_H */
