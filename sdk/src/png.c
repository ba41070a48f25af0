/*
 * png.c — the smallest correct PNG writer: one IHDR (8-bit truecolour,
 * no interlace), one IDAT holding the zlib stream of the scanlines, IEND.
 *
 * PNG is a container (RFC 2083): chunks of length, type, data and a CRC-32
 * over type and data; the pixels are a zlib stream of scanlines, each
 * prefixed by a filter byte. zlib does the compression and the CRC. Every
 * row uses the Sub filter (the difference to the pixel on the left), which
 * costs one pass and compresses smooth images far better than no filter;
 * choosing filters per row (libpng's heuristic) would gain a little more
 * for a second pass over the image.
 *
 * zlib level 1, because this runs on the trainer's thread: on a 256x256
 * gradient with noise (tests/bench/bench_media) level 6 takes 20 ms and
 * 43 KB, level 1 1.3 ms and 56 KB.
 */
#include "png.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "error.h"
#include "wire_media.h"

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Write a chunk whose data is already at p + 8 (len bytes): length, type, CRC. Returns the byte after it. */
static uint8_t *chunk_close(uint8_t *p, const char type[4], uint32_t len)
{
	uLong crc;

	put_be32(p, len);
	memcpy(p + 4, type, 4);
	crc = crc32(0L, p + 4, 4 + len);
	put_be32(p + 8 + len, (uint32_t)crc);
	return p + 12 + len;
}

int wb__png_encode_rgb(const uint8_t *rgb, uint32_t width, uint32_t height, uint8_t **out, size_t *len)
{
	static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
	uint8_t *raw = NULL, *png = NULL, *p;
	size_t stride, rawlen;
	uLongf zlen;
	int rc;

	*out = NULL;
	*len = 0;
	if (!rgb || width == 0 || height == 0 || width > WB__IMAGE_DIM_MAX || height > WB__IMAGE_DIM_MAX)
		return wb__error(WB_EINVAL, "an rgb image is 1 to %u pixels wide and high", WB__IMAGE_DIM_MAX);
	stride = (size_t)width * 3;
	rawlen = (stride + 1) * height; /* at most 16384 * 49153: no overflow in size_t */
	if (!(raw = malloc(rawlen))) {
		rc = wb__error(WB_ENOMEM, "out of memory encoding a %ux%u png", width, height);
		goto done;
	}
	for (uint32_t y = 0; y < height; y++) {
		const uint8_t *src = rgb + (size_t)y * stride;
		uint8_t *dst = raw + (size_t)y * (stride + 1);
		dst[0] = 1; /* Sub */
		memcpy(dst + 1, src, 3);
		for (size_t x = 3; x < stride; x++)
			dst[1 + x] = (uint8_t)(src[x] - src[x - 3]);
	}
	zlen = compressBound((uLong)rawlen);
	if (!(png = malloc(8 + 25 + 12 + zlen + 12))) {
		rc = wb__error(WB_ENOMEM, "out of memory encoding a %ux%u png", width, height);
		goto done;
	}
	memcpy(png, sig, 8);
	p = png + 8;
	put_be32(p + 8, width);
	put_be32(p + 12, height);
	p[16] = 8; /* bit depth */
	p[17] = 2; /* colour type: truecolour */
	p[18] = 0; /* compression: deflate */
	p[19] = 0; /* filter method 0 */
	p[20] = 0; /* no interlace */
	p = chunk_close(p, "IHDR", 13);
	if (compress2(p + 8, &zlen, raw, (uLong)rawlen, 1) != Z_OK) {
		rc = wb__error(WB_ENOMEM, "zlib could not compress a %ux%u png", width, height);
		goto done;
	}
	p = chunk_close(p, "IDAT", (uint32_t)zlen);
	p = chunk_close(p, "IEND", 0);
	*len = (size_t)(p - png);
	*out = png;
	png = NULL;
	rc = WB_OK;
done:
	free(raw);
	free(png);
	return rc;
}
