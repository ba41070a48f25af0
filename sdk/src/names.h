/*
 * names.h — random run ids, readable default run names, random numbers.
 */
#ifndef WB_NAMES_H
#define WB_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define WB__RUN_ID_LEN 8

/* Fill buf with n random bytes from getrandom(); falls back to a
 * time/pid/address mix if the kernel call fails. Never fails. */
WB__HIDDEN void wb__random_bytes(void *buf, size_t n);

/* A random 64-bit number (for jitter). */
WB__HIDDEN uint64_t wb__random_u64(void);

/* A new run id: WB__RUN_ID_LEN base36 characters [0-9a-z], NUL-terminated. */
WB__HIDDEN void wb__run_id_new(char out[WB__RUN_ID_LEN + 1]);

/* A readable run name such as "brave-otter-7" into out (cap >= 48). */
WB__HIDDEN void wb__run_name_new(char *out, size_t cap);

#endif /* WB_NAMES_H */
