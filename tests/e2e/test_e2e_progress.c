/*
 * End-to-end progress of the long CLI commands (server/cli/progress.c): the
 * real `wb` binary against real servers, stderr to a pipe with
 * WB_PROGRESS_INTERVAL=0 (a plain line at every clock check), so each
 * command must print periodic "done / total (pct%)" lines and a summary
 * ("... in N s, rate") on stderr, and nothing of it on stdout: `wb export
 * -` writes the archive to stdout and `wb import` must still load it.
 * Under a pseudo-terminal (forkpty) the same command redraws one line with
 * "\r" and clear-to-end-of-line instead, and -q / WB_PROGRESS=0 silence it.
 * Covered: sync, artifact put and get, export, import, restore,
 * tensorboard import.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "wb.h"
#include "test_git_helpers.h"

static wbt_server a, b; /* a: the SDK's and the commands' server; b: the import target */
static char tmp[256];

static int setup(void **state)
{
	(void)state;
	/* b first: the last started server is the one the environment points at */
	if (wbt_server_start(&b, NULL) < 0 || wbt_server_start(&a, NULL) < 0)
		return -1;
	if (wbt_runs_dir(tmp, sizeof(tmp), "progress") < 0)
		return -1;
	setenv("WB_PROGRESS_INTERVAL", "0", 1);
	unsetenv("WB_PROGRESS");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	wbt_server_cleanup(&a);
	return wbt_tmp_done(&b, tmp);
}

/* What a command wrote: stderr read from a pipe, stdout from a file. */
typedef struct outcome {
	int status;
	char *err, *out;
	size_t out_len;
} outcome;

static void outcome_free(outcome *o)
{
	free(o->err);
	free(o->out);
}

static char *slurp_fd(int fd, size_t *len)
{
	char *buf = NULL;
	size_t n = 0, cap = 0;
	for (;;) {
		ssize_t r;
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 65536;
			assert_non_null(buf = realloc(buf, cap));
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	if (!buf)
		assert_non_null(buf = malloc(1));
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

/* Run wb with args (NULL-terminated, without argv[0]): stderr through a pipe, stdout into a file. */
static void run_wb(outcome *o, const char *const *args)
{
	const char *argv[24];
	char outpath[400];
	int pfd[2], ofd, st;
	size_t n = 0;
	pid_t p;

	memset(o, 0, sizeof(*o));
	argv[n++] = wbt_wb_bin();
	while (*args && n < 23)
		argv[n++] = *args++;
	argv[n] = NULL;
	snprintf(outpath, sizeof(outpath), "%s/stdout", tmp);
	assert_int_equal(pipe(pfd), 0);
	assert_true((ofd = open(outpath, O_RDWR | O_CREAT | O_TRUNC, 0600)) >= 0);
	fflush(NULL);
	p = fork();
	assert_true(p >= 0);
	if (p == 0) {
		dup2(pfd[1], 2);
		dup2(ofd, 1);
		close(pfd[0]);
		close(pfd[1]);
		close(ofd);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	o->err = slurp_fd(pfd[0], NULL);
	close(pfd[0]);
	assert_int_equal(waitpid(p, &st, 0), p);
	o->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	lseek(ofd, 0, SEEK_SET);
	o->out = slurp_fd(ofd, &o->out_len);
	close(ofd);
	if (o->status != 0)
		print_message("wb %s failed (%d); stderr:\n%s\nstdout:\n%s\n", argv[1], o->status, o->err, o->out);
}

/* Lines of text starting with prefix: summaries (" in " and a number: "in 2.5 s", "in 1:02") and
 * periodic ones (a rate, "4.1 MiB/s" or "-- /s", and no " in N"). */
static void count_lines(const char *text, const char *prefix, int *periodic, int *summaries)
{
	size_t pl = strlen(prefix);
	*periodic = *summaries = 0;
	for (const char *l = text; *l;) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);
		char line[600];
		snprintf(line, sizeof(line), "%.*s", (int)(len < sizeof(line) ? len : sizeof(line) - 1), l);
		if (strncmp(line, prefix, pl) == 0) {
			const char *in = strstr(line, " in ");
			if (in && in[4] >= '0' && in[4] <= '9')
				++*summaries;
			else if (strstr(line, "/s"))
				++*periodic;
		}
		l += len + (nl != NULL);
	}
}

/* stderr has at least min_periodic periodic lines and exactly one summary for prefix ("wb sync: uploading"). */
static void expect_progress(const outcome *o, const char *prefix, int min_periodic)
{
	int per, sum;
	count_lines(o->err, prefix, &per, &sum);
	if (per < min_periodic || sum != 1)
		fail_msg("%s: %d periodic lines (want >= %d), %d summaries (want 1) in stderr:\n%s", prefix, per,
			 min_periodic, sum, o->err);
	assert_null(strchr(o->err, '\r')); /* not a terminal: plain lines only */
	assert_null(strstr(o->err, "\x1b["));
}

static void write_random(const char *path, size_t n, unsigned seed)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	srand(seed);
	for (size_t i = 0; i < n; i++)
		fputc(rand() & 0xff, f);
	assert_int_equal(fclose(f), 0);
}

/* An offline run of prog/big with about 10 MiB of run log: three upload batches of 4 MiB. */
static void offline_run(char *dir, size_t cap)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *r = NULL;

	o.entity = "prog";
	o.project = "big";
	o.run_id = "offline1";
	o.mode = WB_MODE_OFFLINE;
	o.disable_git = 1;
	o.system_sample_ms = -1;
	o.buffer_bytes = 64u << 20; /* nothing dropped however fast we log */
	assert_int_equal(wb_init(&r, &o), WB_OK);
	snprintf(dir, cap, "%s", wb_run_dir(r));
	for (int i = 0; i < 120000; i++)
		assert_int_equal(WB_LOG(r, i, {"train/loss_of_a_long_name", 1.0 / (i + 1)},
					{"train/accuracy_of_a_long_name", i * 1e-6}, {"lr", 0.001}),
				 WB_OK);
	assert_int_equal(wb_finish(r, 0), WB_OK);
}

/* wb sync: periodic lines in bytes of the run log, a summary; stdout only the result. */
static void test_e2e_progress__sync(void **state)
{
	char dir[512], log[600];
	struct stat st;
	outcome o;
	(void)state;

	offline_run(dir, sizeof(dir));
	snprintf(log, sizeof(log), "%s/records.wbl", dir);
	assert_int_equal(stat(log, &st), 0);
	assert_true(st.st_size > 8 << 20); /* more than two batches */
	run_wb(&o, (const char *[]){"sync", dir, NULL});
	assert_int_equal(o.status, 0);
	expect_progress(&o, "wb sync: uploading ", 2);
	assert_non_null(strstr(o.err, " (100%)")); /* the last batch, before the summary */
	assert_non_null(strstr(o.out, "records sent"));
	assert_null(strstr(o.out, "uploading"));
	outcome_free(&o);
	/* -q: nothing on stderr, the same result on stdout */
	run_wb(&o, (const char *[]){"sync", "-q", dir, NULL});
	assert_int_equal(o.status, 0);
	assert_string_equal(o.err, "");
	assert_non_null(strstr(o.out, "0 records sent"));
	outcome_free(&o);
}

/* wb artifact put (hashing, uploading) and get (downloading); WB_PROGRESS=0 and -q silence them. */
static void test_e2e_progress__artifact(void **state)
{
	char file[400], dl[400], got[600];
	struct stat st;
	outcome o;
	(void)state;

	snprintf(file, sizeof(file), "%s/weights.bin", tmp);
	write_random(file, 6u << 20, 7);
	setenv("WB_ARTIFACT_CHUNK_BYTES", "65536", 1); /* ~100 chunks: many updates */
	run_wb(&o, (const char *[]){"artifact", "put", "prog/big/weights", file, NULL});
	unsetenv("WB_ARTIFACT_CHUNK_BYTES");
	assert_int_equal(o.status, 0);
	expect_progress(&o, "wb artifact put: hashing ", 1);
	expect_progress(&o, "wb artifact put: uploading ", 2);
	assert_non_null(strstr(o.err, "wb artifact put: uploading 6.0 MiB in "));
	assert_non_null(strstr(o.out, "created, 6291456 bytes uploaded"));
	outcome_free(&o);

	snprintf(dl, sizeof(dl), "%s/dl", tmp);
	run_wb(&o, (const char *[]){"artifact", "get", "prog/big/weights", dl, NULL});
	assert_int_equal(o.status, 0);
	expect_progress(&o, "wb artifact get: downloading ", 1);
	assert_non_null(strstr(o.err, "wb artifact get: downloading 6.0 MiB in "));
	assert_non_null(strstr(o.out, "prog/big/weights:v0 -> "));
	snprintf(got, sizeof(got), "%s/weights.bin", dl);
	assert_int_equal(stat(got, &st), 0);
	assert_int_equal(st.st_size, 6u << 20);
	outcome_free(&o);

	setenv("WB_PROGRESS", "0", 1);
	run_wb(&o, (const char *[]){"artifact", "put", "prog/big/weights", file, NULL});
	unsetenv("WB_PROGRESS");
	assert_int_equal(o.status, 0);
	assert_string_equal(o.err, "");
	assert_non_null(strstr(o.out, "unchanged"));
	outcome_free(&o);
	snprintf(dl, sizeof(dl), "%s/dl2", tmp);
	run_wb(&o, (const char *[]){"artifact", "get", "--quiet", "prog/big/weights", dl, NULL});
	assert_int_equal(o.status, 0);
	assert_string_equal(o.err, "");
	outcome_free(&o);
}

/* wb export - : the archive on stdout stays clean (wb import loads it into b), progress on stderr. */
static void test_e2e_progress__export_import(void **state)
{
	char arch[400], key[200];
	FILE *f;
	outcome o;
	cJSON *j;
	(void)state;

	run_wb(&o, (const char *[]){"export", "--project", "prog/big", "-", NULL});
	assert_int_equal(o.status, 0);
	expect_progress(&o, "wb export: runs ", 1);
	expect_progress(&o, "wb export: artifacts ", 1);
	expect_progress(&o, "wb export: files ", 1);
	assert_non_null(strstr(o.err, "stdout: 1 runs and 1 artifacts exported"));
	/* stdout is the archive and nothing else: gzip magic, then the whole thing imports */
	assert_true(o.out_len > 6u << 20);
	assert_int_equal((unsigned char)o.out[0], 0x1f);
	assert_int_equal((unsigned char)o.out[1], 0x8b);
	snprintf(arch, sizeof(arch), "%s/export.tar.gz", tmp);
	assert_non_null(f = fopen(arch, "wb"));
	assert_int_equal(fwrite(o.out, 1, o.out_len, f), o.out_len);
	assert_int_equal(fclose(f), 0);
	outcome_free(&o);

	snprintf(key, sizeof(key), "%s", b.key);
	run_wb(&o, (const char *[]){"import", arch, "--base-url", b.url, "--api-key", key, NULL});
	assert_int_equal(o.status, 0);
	expect_progress(&o, "wb import: reading ", 1);
	expect_progress(&o, "wb import: runs ", 1);
	expect_progress(&o, "wb import: blobs ", 1);
	assert_non_null(strstr(o.out, "1 runs and 1 artifacts imported"));
	assert_null(strstr(o.out, "wb import:"));
	outcome_free(&o);
	assert_non_null(j = wbt_get_json(&b, "/api/v1/projects/prog/big/runs/offline1"));
	cJSON_Delete(j);
}

/* wb restore: the capture fetched (bytes), then the tree rebuilt. */
static void test_e2e_progress__restore(void **state)
{
	wb_init_options io = WB_INIT_OPTIONS_INIT;
	char repo[400], dest[400], run[200], cwd[4096];
	wb_run *r = NULL;
	outcome o;
	(void)state;

	wbg_env();
	snprintf(repo, sizeof(repo), "%s/repo", tmp);
	assert_int_equal(wbg_sh(tmp, "mkdir repo && cd repo && git init -q -b main . && printf 'x\\n' > a.txt && "
				     "git add -A && git commit -q -m init && printf 'changed\\n' > a.txt"),
			 0);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(repo), 0);
	io.entity = "prog";
	io.project = "code";
	io.system_sample_ms = -1;
	assert_int_equal(wb_init(&r, &io), WB_OK);
	assert_int_equal(chdir(cwd), 0);
	snprintf(run, sizeof(run), "prog/code/%s", wb_run_id(r));
	assert_int_equal(wb_finish(r, 0), WB_OK);
	snprintf(dest, sizeof(dest), "%s/restored", tmp);
	run_wb(&o, (const char *[]){"restore", run, dest, NULL});
	assert_int_equal(o.status, 0);
	expect_progress(&o, "wb restore: fetching ", 1);
	expect_progress(&o, "wb restore: rebuilding ", 0);
	assert_non_null(strstr(o.out, "restored "));
	outcome_free(&o);
}

/* wb tensorboard import: the event files' bytes read, then the upload of the run. */
static void test_e2e_progress__tensorboard(void **state)
{
	char logdir[400], ev[500];
	outcome o;
	(void)state;

	snprintf(logdir, sizeof(logdir), "%s/tb", tmp);
	assert_int_equal(mkdir(logdir, 0755), 0);
	snprintf(ev, sizeof(ev), "%s/events.out.tfevents.1700000000.host", logdir);
	write_random(ev, 4096, 11); /* not valid records: read, counted as skipped, the run still made */
	run_wb(&o, (const char *[]){"tensorboard", "import", logdir, "--project", "prog/tb", NULL});
	assert_int_equal(o.status, 0);
	expect_progress(&o, "wb tensorboard import: reading ", 1);
	assert_non_null(strstr(o.err, "wb tensorboard import: reading 4.0 KiB in "));
	expect_progress(&o, "wb tensorboard import: uploading ", 1);
	assert_non_null(strstr(o.out, "-> prog/tb/"));
	outcome_free(&o);
}

/* Under a terminal: one line redrawn with "\r" and clear-to-end, no plain lines, the summary kept. */
static void test_e2e_progress__pty(void **state)
{
	char dl[400], *text, *sum;
	int master, st;
	pid_t p;
	(void)state;

	snprintf(dl, sizeof(dl), "%s/dl-pty", tmp);
	fflush(NULL);
	p = forkpty(&master, NULL, NULL, NULL);
	assert_true(p >= 0);
	if (p == 0) {
		execl(wbt_wb_bin(), wbt_wb_bin(), "artifact", "get", "prog/big/weights", dl, (char *)NULL);
		_exit(127);
	}
	text = slurp_fd(master, NULL); /* until EIO: the child closed the terminal */
	close(master);
	assert_int_equal(waitpid(p, &st, 0), p);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* WB_PROGRESS_INTERVAL=0 is for plain lines: a terminal still gets redraws, each "\r...\x1b[K" */
	assert_non_null(strstr(text, "\rwb artifact get: downloading 0 B / 6.0 MiB (0%)"));
	assert_non_null(sum = strstr(text, "\rwb artifact get: downloading 6.0 MiB in "));
	assert_non_null(strstr(sum, "/s\x1b[K\r\n")); /* the summary ends the line (the tty adds \r) */
	for (const char *s = text; (s = strstr(s, "wb artifact get: downloading")); s++)
		assert_true(s > text && s[-1] == '\r'); /* never a plain line */
	assert_non_null(strstr(text, "prog/big/weights:v0 -> "));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_progress__sync),
		cmocka_unit_test(test_e2e_progress__artifact),
		cmocka_unit_test(test_e2e_progress__export_import),
		cmocka_unit_test(test_e2e_progress__restore),
		cmocka_unit_test(test_e2e_progress__tensorboard),
		cmocka_unit_test(test_e2e_progress__pty),
	};
	return wbt_exit_code(cmocka_run_group_tests(tests, setup, teardown));
}
