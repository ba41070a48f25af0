/*
 * bench_artifact — a large artifact through the real SDK and a real
 * `wb server` on loopback, one JSON object per line:
 *
 *  - artifact_upload_throughput: MB/s (10^6 bytes) from wb_artifact_upload's
 *    call to its return with the version committed (hashing, the dedup
 *    check, chunked upload with per-chunk checks, the server's verification,
 *    fsync and rename, the commit), for a file of random bytes (so no gzip
 *    help);
 *  - artifact_download_throughput: MB/s of wb_artifact_download into an
 *    empty directory (streamed, hashed, checked, renamed);
 *  - artifact_upload_peak_rss / artifact_download_peak_rss: the client's
 *    peak resident memory (VmHWM, reset before each phase through
 *    /proc/self/clear_refs), MiB;
 *  - artifact_dedup_upload_seconds: the same file again (only hashing and
 *    the check: no blob byte moves);
 *  - artifact_disk_write_baseline: MB/s of writing the source file itself
 *    (generation + fsync), the disk's speed at that moment: the upload
 *    writes and fsyncs as many bytes on the server's side.
 *
 * WB_BENCH_ARTIFACT_MIB sets the size (default 2048 = 2 GiB). The file is
 * written with a 1 MiB buffer, so generating it does not count in the RSS.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "wb.h"

static void emit(const char *bench, double value, const char *unit)
{
	printf("{\"bench\":\"%s\",\"value\":%.6g,\"unit\":\"%s\"}\n", bench, value, unit);
	fflush(stdout);
}

static void peak_reset(void)
{
	FILE *f = fopen("/proc/self/clear_refs", "w");
	if (f) {
		fputs("5", f);
		fclose(f);
	}
}

static double peak_mib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return (double)kib / 1024.0;
}

int main(void)
{
	wbt_server srv;
	char root[256], src[400], file[500], out[400], got[600];
	const char *mib_s = getenv("WB_BENCH_ARTIFACT_MIB");
	uint64_t size = (uint64_t)(mib_s && atol(mib_s) > 0 ? atol(mib_s) : 2048) << 20, bytes = 0;
	wb_artifact *a = NULL;
	int64_t v = -1;
	int created = 0, rc = 1, fd;
	uint8_t *buf;
	double t0, t;
	struct stat st;

	if (wbt_mkdtemp(root, sizeof(root), "bench-art") < 0)
		return 1;
	setenv("WB_ENTITY", "bench", 1);
	setenv("WB_PROJECT", "artifacts", 1);
	if (wbt_server_start(&srv, "")) {
		wbt_rm_rf(root);
		return 1;
	}
	snprintf(src, sizeof(src), "%s/src", root);
	snprintf(out, sizeof(out), "%s/out", root);
	mkdir(src, 0755);
	snprintf(file, sizeof(file), "%s/weights.bin", src);
	/* random bytes (xorshift), 1 MiB at a time */
	buf = malloc(1u << 20);
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (!buf || fd < 0)
		goto done;
	t0 = wbt_now();
	{
		uint64_t x = 0x9E3779B97F4A7C15ull;
		for (uint64_t o = 0; o < size; o += 1u << 20) {
			uint64_t *w = (uint64_t *)buf;
			for (size_t i = 0; i < (1u << 20) / 8; i++) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				w[i] = x;
			}
			if (write(fd, buf, 1u << 20) != 1 << 20)
				goto done;
		}
	}
	if (fsync(fd) != 0)
		goto done;
	close(fd);
	free(buf);
	buf = NULL;
	/* the disk's own speed here and now, for scale: writing the source file, fsync included */
	emit("artifact_disk_write_baseline", (double)size / 1e6 / (wbt_now() - t0), "MB/s");

	peak_reset();
	t0 = wbt_now();
	if (wb_artifact_new(&a, "big", "model") || wb_artifact_add_file(a, file, NULL) ||
	    (rc = wb_artifact_upload(NULL, a, NULL, 0, &v, &created, &bytes))) {
		fprintf(stderr, "bench_artifact: upload: %s: %s\n", wb_strerror(rc), wb_errmsg());
		rc = 1;
		goto done;
	}
	t = wbt_now() - t0;
	emit("artifact_upload_throughput", (double)size / 1e6 / t, "MB/s");
	emit("artifact_upload_peak_rss", peak_mib(), "MiB");
	if (bytes != size || !created || v != 0) {
		fprintf(stderr, "bench_artifact: uploaded %" PRIu64 " of %" PRIu64 " bytes\n", bytes, size);
		rc = 1;
		goto done;
	}
	t0 = wbt_now();
	if ((rc = wb_artifact_upload(NULL, a, NULL, 0, &v, &created, &bytes)) || bytes != 0 || created) {
		fprintf(stderr, "bench_artifact: second upload moved %" PRIu64 " bytes\n", bytes);
		rc = 1;
		goto done;
	}
	emit("artifact_dedup_upload_seconds", wbt_now() - t0, "s");

	peak_reset();
	t0 = wbt_now();
	if ((rc = wb_artifact_download(NULL, "big:v0", out, &v))) {
		fprintf(stderr, "bench_artifact: download: %s: %s\n", wb_strerror(rc), wb_errmsg());
		rc = 1;
		goto done;
	}
	t = wbt_now() - t0;
	snprintf(got, sizeof(got), "%s/weights.bin", out);
	if (stat(got, &st) != 0 || (uint64_t)st.st_size != size) {
		fprintf(stderr, "bench_artifact: the download has the wrong size\n");
		rc = 1;
		goto done;
	}
	emit("artifact_download_throughput", (double)size / 1e6 / t, "MB/s");
	emit("artifact_download_peak_rss", peak_mib(), "MiB");
	rc = 0;
done:
	free(buf);
	wb_artifact_free(a);
	wbt_server_cleanup(&srv);
	wbt_rm_rf(root);
	return rc;
}
