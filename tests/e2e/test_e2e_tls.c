/*
 * End-to-end: `wb server` serves HTTPS on loopback and libwb reaches it
 * with the CA file it is given (wb_init's ca_file, or WB_CA_FILE for the
 * SDK and `wb sync`).
 *
 * The certificate is self-signed, made by the openssl CLI at test time for
 * 127.0.0.1 and localhost; the server takes it and its key from its config
 * file (tls-cert, tls-key), as the packaged /etc/wb/wb.conf would. Checked:
 * - the port speaks HTTPS only: plain HTTP to it gets no answer, and an
 *   https client without the CA refuses the certificate; TLS 1.2 works,
 *   TLS 1.1 is refused by the server;
 * - an online run without the CA fails its upload at once with WB_ENET and
 *   curl's "certificate" message (a configuration error, not retried), and
 *   its run log keeps everything;
 * - runs with ca_file, and with WB_CA_FILE, land completely (the export
 *   over HTTPS holds every point once);
 * - `wb sync` without the CA fails quickly and says why; with WB_CA_FILE it
 *   uploads the run that failed, every point exactly once;
 * - the server then stops cleanly (exit status 0, which under ASan also
 *   means no leak).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "series.h"
#include "wb.h"

#define NSTEPS 2000

static wbt_server srv;
static char root[256], cert[320], key[320];
static char failed_id[64], failed_dir[512]; /* the run whose upload the missing CA stopped */

static int setup(void **state)
{
	char cmd[1400], conf[320], extra[400];
	FILE *f;
	(void)state;

	if (wbt_mkdtemp(root, sizeof(root), "tls") < 0)
		return -1;
	snprintf(cert, sizeof(cert), "%s/cert.pem", root);
	snprintf(key, sizeof(key), "%s/key.pem", root);
	snprintf(conf, sizeof(conf), "%s/wb.conf", root);
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey rsa:2048 -nodes -keyout '%s' -out '%s' -days 2 -subj /CN=localhost "
		 "-addext subjectAltName=IP:127.0.0.1,DNS:localhost >/dev/null 2>&1",
		 key, cert);
	if (system(cmd) != 0) {
		fprintf(stderr, "openssl req failed\n");
		return -1;
	}
	if (!(f = fopen(conf, "w")))
		return -1;
	fprintf(f, "# TLS from the config file\ntls-cert = %s\ntls-key = %s\n", cert, key);
	fclose(f);
	snprintf(extra, sizeof(extra), "--config %s", conf);
	if (wbt_server_start_ca(&srv, extra, cert) < 0)
		return -1;
	setenv("WB_DIR", root, 1);
	unsetenv("WB_CA_FILE");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return wbt_tmp_done(&srv, root);
}

static void test_e2e_tls__https_only(void **state)
{
	wbt_server plain = srv, nocert = srv;
	wbt_response r;
	(void)state;

	assert_int_equal(strncmp(srv.url, "https://127.0.0.1:", 18), 0);
	assert_int_equal(wbt_http(&srv, "GET", "/healthz", NULL, 0, NULL, 0, &r), 0);
	assert_int_equal(r.status, 200);
	wbt_response_free(&r);
	assert_int_equal(wbt_http(&srv, "GET", "/api/v1/projects", NULL, 0, NULL, 1, &r), 0);
	assert_int_equal(r.status, 200);
	wbt_response_free(&r);

	/* Plain HTTP to the TLS port: no HTTP answer at all. */
	snprintf(plain.url, sizeof(plain.url), "http://%.200s", srv.url + 8);
	assert_int_equal(wbt_http(&plain, "GET", "/healthz", NULL, 0, NULL, 0, &r), -1);
	/* Without the CA the certificate is refused. */
	nocert.ca_file[0] = '\0';
	assert_int_equal(wbt_http(&nocert, "GET", "/healthz", NULL, 0, NULL, 0, &r), -1);

	/* TLS 1.2 and 1.3 are spoken; the server itself refuses TLS 1.1 (its alert). */
	{
		char cmd[1200];
		snprintf(cmd, sizeof(cmd),
			 "echo | openssl s_client -connect '%.100s' -tls1_2 -CAfile '%s' 2>&1 | grep -q 'Verify return code: 0'",
			 srv.url + 8, cert);
		assert_int_equal(system(cmd), 0);
		snprintf(cmd, sizeof(cmd),
			 "echo | openssl s_client -connect '%.100s' -tls1_1 -CAfile '%s' 2>&1 | grep -q 'alert protocol version'",
			 srv.url + 8, cert);
		assert_int_equal(system(cmd), 0);
	}
}

/* An online run of NSTEPS with ca_file; returns wb_finish's code, its
 * message in msg, the run's id and directory. */
static int online_run(const char *project, const char *ca_file, char *msg, size_t cap, char *id, char *dir)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;
	int rc;

	o.entity = "ops";
	o.project = project;
	o.mode = WB_MODE_ONLINE;
	o.finish_timeout_ms = 20000;
	o.disable_git = 1;
	o.system_sample_ms = -1;
	o.ca_file = ca_file;
	assert_int_equal(wb_init(&run, &o), WB_OK);
	assert_int_equal(wbt_log_series(run, 0, NSTEPS, 0), WB_OK);
	snprintf(id, 64, "%s", wb_run_id(run));
	snprintf(dir, 512, "%s", wb_run_dir(run));
	rc = wb_finish(run, 0);
	snprintf(msg, cap, "%s", rc == WB_OK ? "" : wb_errmsg());
	return rc;
}

static void test_e2e_tls__sdk_ca_file(void **state)
{
	char msg[2048], id[64], dir[512];
	double t0;
	int rc;
	(void)state;

	t0 = wbt_now();
	rc = online_run("noca", NULL, msg, sizeof(msg), failed_id, failed_dir);
	print_message("without the CA: %s: %s\n", wb_strerror(rc), msg);
	assert_int_equal(rc, WB_ENET); /* not retried: a configuration error */
	assert_non_null(strstr(msg, "certificate"));
	assert_true(wbt_now() - t0 < 15); /* well before finish_timeout_ms */

	rc = online_run("cafile", cert, msg, sizeof(msg), id, dir);
	assert_int_equal(rc, WB_OK);
	assert_int_equal(wbt_check_series(&srv, "ops", "cafile", id, NSTEPS), 0);

	/* The same from the environment. */
	setenv("WB_CA_FILE", cert, 1);
	rc = online_run("caenv", NULL, msg, sizeof(msg), id, dir);
	unsetenv("WB_CA_FILE");
	assert_int_equal(rc, WB_OK);
	assert_int_equal(wbt_check_series(&srv, "ops", "caenv", id, NSTEPS), 0);
}

/* Run `wb sync DIR` with stderr in a file; returns its exit code, stderr in text. */
static int sync_run(const char *dir, char *text, size_t cap)
{
	char cmd[2048], out[400];
	FILE *f;
	size_t n;
	int st;

	snprintf(out, sizeof(out), "%s/sync.err", root);
	snprintf(cmd, sizeof(cmd), "'%s' sync '%s' 2>'%s' >/dev/null", wbt_wb_bin(), dir, out);
	st = system(cmd);
	assert_non_null(f = fopen(out, "r"));
	n = fread(text, 1, cap - 1, f);
	text[n] = '\0';
	fclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_e2e_tls__sync(void **state)
{
	char text[4096];
	double t0;
	(void)state;

	assert_true(failed_dir[0]); /* left by test_e2e_tls__sdk_ca_file */
	t0 = wbt_now();
	assert_int_not_equal(sync_run(failed_dir, text, sizeof(text)), 0);
	print_message("wb sync without WB_CA_FILE: %s", text);
	assert_non_null(strstr(text, "certificate"));
	assert_true(wbt_now() - t0 < 30);

	setenv("WB_CA_FILE", cert, 1);
	assert_int_equal(sync_run(failed_dir, text, sizeof(text)), 0);
	unsetenv("WB_CA_FILE");
	assert_int_equal(wbt_check_series(&srv, "ops", "noca", failed_id, NSTEPS), 0);

	/* A clean exit after serving TLS (under ASan: no leak, no error). */
	assert_int_equal(wbt_server_stop(&srv), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_tls__https_only),
		cmocka_unit_test(test_e2e_tls__sdk_ca_file),
		cmocka_unit_test(test_e2e_tls__sync),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
