/*
 * png.h — encode an 8-bit RGB buffer as a PNG (for wb_run_log_image_rgb).
 */
#ifndef WB_PNG_H
#define WB_PNG_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/*
 * Encode width x height pixels of 3 bytes (R, G, B; rows top to bottom,
 * no padding) as a PNG into *out (malloc'd, the caller frees) of *len bytes.
 * WB_OK, WB_EINVAL (a dimension is 0 or over WB__IMAGE_DIM_MAX) or
 * WB_ENOMEM.
 */
WB__HIDDEN int wb__png_encode_rgb(const uint8_t *rgb, uint32_t width, uint32_t height, uint8_t **out, size_t *len);

#endif /* WB_PNG_H */
