/*
 * sha256.h — SHA-256 as lowercase hex, the name of every content-addressed
 * file the server keeps (media under <data>/media, artifact blobs under
 * <data>/blobs), and the check that a name from a request is one.
 */
#ifndef WB_SERVER_SHA256_H
#define WB_SERVER_SHA256_H

#include <stddef.h>

/* A 32-byte digest as 64 lowercase hex digits into out[65]. */
void wbs__sha256_digest_hex(const unsigned char md[32], char out[65]);
/* Hex SHA-256 of p[0..n) into out[65]. */
void wbs__sha256_hex(const void *p, size_t n, char out[65]);
/* The same over bytes that arrive in pieces (an archive entry, a download):
 * begin, update any number of times, then end, which writes the hex and
 * frees the state. NULL from begin when out of memory; end accepts NULL
 * (writes nothing). */
typedef struct wbs__sha256 wbs__sha256;
wbs__sha256 *wbs__sha256_begin(void);
void wbs__sha256_update(wbs__sha256 *h, const void *p, size_t n);
void wbs__sha256_end(wbs__sha256 *h, char out[65]);
/* 1 if s is exactly 64 lowercase hex digits. */
int wbs__sha256_hex_valid(const char *s);

#endif /* WB_SERVER_SHA256_H */
