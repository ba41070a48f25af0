/*
 * json_exact.h — JSON numbers that come back exactly as they went in
 * (json_exact.c says how). Shared by libwb and the server through wb_wire.
 */
#ifndef WB_JSON_EXACT_H
#define WB_JSON_EXACT_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "wire.h"

/* Format v as the shortest decimal that reads back to the same bits, into
 * buf (>= 32 bytes); non-finite values give NaN/Infinity/-Infinity without
 * quotes. */
WB__HIDDEN void wb__json_format_double(char *buf, size_t cap, double v);

/* Parse keeping each number's own text beside its double, so that printing
 * with wb__json_print_exact writes it back unchanged; numbers without kept
 * text print as the shortest decimal that reads back to the same double
 * (cJSON alone rounds integers past 2^53 and shortens doubles by an
 * epsilon). Parse: NULL if invalid or out of memory; print: malloc'd text or
 * NULL. */
WB__HIDDEN cJSON *wb__json_parse_exact(const char *text, size_t len);
WB__HIDDEN char *wb__json_print_exact(const cJSON *item);

#endif /* WB_JSON_EXACT_H */
