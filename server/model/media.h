/*
 * media.h — a rich-data record (HISTOGRAM, IMAGE, TABLE; schema/wire.md)
 * decoded and validated by an HTTP worker, in the shape the store keeps.
 *
 * Decoding does all the checking (wire_media.c's decoders, UTF-8 of keys
 * and captions, the table's shape) and, for an image, the SHA-256 that
 * names its file, so the store's writer thread only inserts a row.
 */
#ifndef WB_SERVER_MEDIA_H
#define WB_SERVER_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

typedef struct wbs__media {
	uint8_t type;        /* WB__REC_HISTOGRAM, _IMAGE or _TABLE */
	char key[WB__KEY_MAX + 1];
	int64_t step;
	double time;         /* unix seconds (NaN if the record's is not finite) */
	uint8_t *data;       /* histogram: the body; table: the JSON text (compact); image: the bytes */
	size_t len;
	char *caption;       /* image: NUL-terminated, "" when none */
	const char *mime;    /* image: static "image/png" or "image/jpeg" */
	uint32_t width, height;
	char sha256[65];     /* image: hex SHA-256 of data */
} wbs__media;

/* The kind name stored and shown: "histogram", "image" or "table". */
const char *wbs__media_kind(uint8_t type);
/* The record type of a kind name, 0 if none. */
uint8_t wbs__media_type(const char *kind);

/*
 * Decode the payload of a frame of type 16..18 into a new *out (free with
 * wbs__media_free). 0; -1 with a one-line reason in err; -2 out of memory.
 */
int wbs__media_decode(uint8_t type, const uint8_t *payload, size_t len, wbs__media **out, char *err, size_t errlen);
void wbs__media_free(wbs__media *m);


#endif /* WB_SERVER_MEDIA_H */
