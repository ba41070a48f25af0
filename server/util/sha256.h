/*
 * sha256.h — SHA-256 as lowercase hex, the name of every content-addressed
 * file the server keeps (media under <data>/media, artifact blobs under
 * <data>/blobs), and the check that a name from a request is one.
 */
#ifndef WB_SERVER_SHA256_H
#define WB_SERVER_SHA256_H

#include <stddef.h>

/* Hex SHA-256 of p[0..n) into out[65]. */
void wbs__sha256_hex(const void *p, size_t n, char out[65]);
/* 1 if s is exactly 64 lowercase hex digits. */
int wbs__sha256_hex_valid(const char *s);

#endif /* WB_SERVER_SHA256_H */
