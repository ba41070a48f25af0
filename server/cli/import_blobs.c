/*
 * import_blobs.c — the second pass of `wb import`: the archive read again,
 * each blob an artifact names streamed to the target through the chunked
 * upload route in chunks the size the SDK sends, from where the target
 * already has it (an interrupted import resumes), so a blob of gigabytes is
 * never in memory.
 */
#include "import.h"

#include <archive_entry.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/sha256.h"

#define BLOB_CHUNK (8u << 20) /* bytes of one uploaded chunk, as the SDK sends them */

/* Read up to cap bytes of the current entry (less only at its end). */
static la_ssize_t read_full(struct archive *ar, uint8_t *buf, size_t cap)
{
	size_t got = 0;
	while (got < cap) {
		la_ssize_t n = archive_read_data(ar, buf + got, cap - got);
		if (n < 0)
			return n;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (la_ssize_t)got;
}

/* Upload one blob from the current entry, from where the target has it (a resumed upload); pg counts its bytes. */
static int upload_blob(const wbs__api *a, struct archive *ar, const bytes_ent *b, uint8_t *buf, wbs__progress *pg,
		       char *err, size_t errlen)
{
	char path[600], hdr[100], csha[65];
	uint64_t off = 0, have = 0;
	wbs__api_resp r;
	cJSON *j = NULL;
	int present;

	snprintf(path, sizeof(path), "/api/v1/projects/%s/%s/artifacts/blobs/%s", b->ent, b->proj, b->sha);
	if (wbs__api_call(a, "GET", path, NULL, 0, NULL, 200, &r, err, errlen))
		return -1;
	j = cJSON_ParseWithLength(r.body, r.len);
	free(r.body);
	if (!j) {
		snprintf(err, errlen, "GET %s: the answer is not json", path);
		return -1;
	}
	present = cJSON_IsTrue(cJSON_GetObjectItem(j, "present"));
	have = (uint64_t)wbs__import_json_count(cJSON_GetObjectItem(j, "received"));
	cJSON_Delete(j);
	if (present) {
		wbs__progress_add(pg, b->size);
		return 0; /* the target has it (deduplicated) */
	}
	if (have > b->size) {
		snprintf(err, errlen, "GET %s: %" PRIu64 " bytes received of a blob of %" PRIu64, path, have, b->size);
		return -1;
	}
	do {
		la_ssize_t n = read_full(ar, buf, have - off < BLOB_CHUNK && have > off ? have - off : BLOB_CHUNK);
		char q[700];
		if (n < 0 || (n == 0 && off < b->size)) {
			snprintf(err, errlen, "cannot read blobs/%s: %s", b->sha, n < 0 ? archive_error_string(ar) : "short");
			return -1;
		}
		if (off < have) { /* bytes an interrupted upload already delivered */
			off += (uint64_t)n;
			wbs__progress_add(pg, (uint64_t)n);
			continue;
		}
		wbs__sha256_hex(buf, (size_t)n, csha);
		snprintf(hdr, sizeof(hdr), "X-Chunk-Sha256: %s", csha);
		snprintf(q, sizeof(q), "%s?offset=%" PRIu64 "&size=%" PRIu64, path, off, b->size);
		{
			wbs__api_req rq = {"PUT", q, n ? (const void *)buf : (const void *)"", (size_t)n,
					   "application/octet-stream", hdr, NULL, NULL, 0};
			if (wbs__api_request(a, &rq, &r, err, errlen))
				return -1;
		}
		if (r.status != 200) {
			snprintf(err, errlen, "PUT %s: http %ld: %.300s", q, r.status, r.body ? r.body : "");
			free(r.body);
			return -1;
		}
		free(r.body);
		off += (uint64_t)n;
		wbs__progress_add(pg, (uint64_t)n);
	} while (off < b->size);
	return 0;
}

/* The second pass over the archive: each blob an artifact names, streamed to the target. */
int wbs__import_upload_blobs(const wbs__api *a, const char *in, const files *f, char *err, size_t errlen)
{
	struct archive *ar = NULL;
	struct archive_entry *ae;
	uint8_t *buf = NULL;
	uint64_t total = 0;
	int rc = -1, r, need = 0;

	for (size_t i = 0; i < f->nb; i++)
		if (f->b[i].blob && f->b[i].ent) {
			need = 1;
			total = f->b[i].size > UINT64_MAX - total ? UINT64_MAX : total + f->b[i].size;
		}
	if (!need)
		return 0;
	wbs__progress_begin(f->pg, "blobs", WBS__PG_BYTES, total);
	if (!(buf = malloc(BLOB_CHUNK))) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	if (!(ar = wbs__import_open_archive(in, err, errlen)))
		goto done;
	while ((r = archive_read_next_header(ar, &ae)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(ae);
		const bytes_ent *b;
		if (!name || strncmp(name, "blobs/", 6) != 0 || !(b = wbs__import_find_bytes(f, name + 6, 1)) || !b->ent)
			continue;
		if (upload_blob(a, ar, b, buf, f->pg, err, errlen))
			goto done;
	}
	if (r != ARCHIVE_EOF) {
		snprintf(err, errlen, "%s: %s", in, archive_error_string(ar));
		goto done;
	}
	rc = 0;
done:
	free(buf);
	if (ar)
		archive_read_free(ar);
	return rc;
}
