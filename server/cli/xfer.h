/*
 * xfer.h — what `wb export` (cmd_export.c) and `wb import` (cmd_import.c)
 * share: the archive layout. Both talk to the server through the CLI's
 * HTTP client, api.h.
 *
 * Archive (a .tar.gz written and read with libarchive), format version 2:
 *   manifest.json                          {"format":"wb-export","version":2,"wb":"x.y.z",
 *                                           "runs":[{"entity","project","id"}],
 *                                           "artifacts":[{"entity","project","name"}],
 *                                           "projects":[{"entity","name","created_at",
 *                                                        "updated_at","visibility"}]}
 *                                          (projects: as GET /api/v1/projects lists them; an
 *                                          archive without them still imports)
 *   runs/E/P/R/run.json                    the run object exactly as GET .../runs/R answers
 *   runs/E/P/R/metrics/index.json          [{"key","file","count"}] (keys may hold '/')
 *   runs/E/P/R/metrics/NNNNNN.csv          step,value,bits — full resolution; value with %.17g
 *                                          (NaN, Infinity, -Infinity spelled out), bits the
 *                                          IEEE-754 pattern in hex (NaN payloads exact)
 *   runs/E/P/R/code/NAME                   the code capture's patches, byte for byte
 *   runs/E/P/R/media/index.json            [{"kind","key","file","count"}]: the rich data
 *   runs/E/P/R/media/NNNNNN.json           every value of one kind and key, in step order, each
 *                                          as GET .../media/{kind}?key=K answers it (histogram
 *                                          edges and counts, image sha256/mime/size/caption,
 *                                          table), never downsampled
 *   artifacts/E/P/NAME.json                {"artifact": GET .../artifacts/NAME,
 *                                           "versions": [GET .../artifacts/NAME/vN, oldest first]}:
 *                                          type, versions with their files (path, sha256, size,
 *                                          ref), metadata, aliases, and lineage (produced_by,
 *                                          used_by runs)
 *   images/SHA256                          the bytes of an image, once per content
 *   blobs/SHA256                           the bytes of an artifact file, once per content
 *                                          (references have none: only their URI is kept)
 *
 * The entries come in that order: the small JSON and CSV first, the image
 * and blob bytes last, so an importer can read and check everything small
 * before it meets a byte of a blob. Version 1 archives (no media, no
 * artifacts, no images/ or blobs/) are still read.
 *
 * Threads: single-threaded commands.
 */
#ifndef WB_SERVER_XFER_H
#define WB_SERVER_XFER_H

#include <stddef.h>

#include "api.h"

#define WBS__XFER_FORMAT "wb-export"
/* The string member k of a cJSON object, or NULL (also when it is not a string). */
#define WBS__JSTR(obj, k) cJSON_GetStringValue(cJSON_GetObjectItem(obj, k))
#define WBS__XFER_VERSION 2

#endif /* WB_SERVER_XFER_H */
