/*
 * End-to-end: libwb verifies an https server with the CA file it is given
 * (wb_init's ca_file, or WB_CA_FILE for the SDK and `wb sync`).
 *
 * `wb server` does not serve TLS itself (README, "TLS": Debian's civetweb
 * cannot use OpenSSL 3), so the https end here is `openssl s_server` with a
 * self-signed certificate made by the openssl CLI, on loopback. It speaks
 * TLS but not the API: what is checked is the handshake. Without the CA the
 * SDK fails with WB_ENET and curl's "certificate" message; with it the
 * handshake passes and the failure, if any, is no longer about the
 * certificate. A certificate that fails verification is not retried (it
 * is a configuration error): `wb sync` without the CA fails at once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "wb.h"

static char root[256], cert[320], key[320];
static pid_t server = -1;
static int port;

static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t n = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), p = -1;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &n) == 0)
		p = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return p;
}

static int connects(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

	ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static int setup(void **state)
{
	char cmd[1200], url[64], acc[32];
	double deadline;
	(void)state;

	if (wbt_mkdtemp(root, sizeof(root), "tls") < 0)
		return -1;
	snprintf(cert, sizeof(cert), "%s/cert.pem", root);
	snprintf(key, sizeof(key), "%s/key.pem", root);
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey rsa:2048 -nodes -keyout '%s' -out '%s' -days 1 -subj /CN=127.0.0.1 "
		 "-addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1",
		 key, cert);
	if (system(cmd) != 0) {
		fprintf(stderr, "openssl req failed\n");
		return -1;
	}
	for (int tries = 0; tries < 5 && server < 0; tries++) {
		if ((port = free_port()) < 0)
			return -1;
		snprintf(acc, sizeof(acc), "127.0.0.1:%d", port);
		server = fork();
		if (server == 0) {
			execlp("openssl", "openssl", "s_server", "-quiet", "-www", "-accept", acc, "-cert", cert, "-key",
			       key, (char *)NULL);
			_exit(127);
		}
		deadline = wbt_now() + 10;
		while (!connects() && wbt_now() < deadline && waitpid(server, NULL, WNOHANG) == 0)
			;
		if (!connects()) {
			kill(server, SIGKILL);
			waitpid(server, NULL, 0);
			server = -1;
		}
	}
	if (server < 0)
		return -1;
	snprintf(url, sizeof(url), "https://127.0.0.1:%d", port);
	setenv("WB_BASE_URL", url, 1);
	setenv("WB_API_KEY", "not-a-real-key", 1);
	setenv("WB_DIR", root, 1);
	setenv("WB_CONFIG_DIR", root, 1);
	unsetenv("WB_CA_FILE");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (server > 0) {
		kill(server, SIGTERM);
		waitpid(server, NULL, 0);
	}
	if (!getenv("WBT_KEEP"))
		wbt_rm_rf(root);
	return 0;
}

/* An online run with ca_file; returns wb_finish's code and its message in msg. */
static int online_run(const char *ca_file, char *msg, size_t cap)
{
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;
	int rc;

	o.entity = "ops";
	o.project = "tls";
	o.mode = WB_MODE_ONLINE;
	o.finish_timeout_ms = 1500;
	o.disable_git = 1;
	o.system_sample_ms = -1;
	o.ca_file = ca_file;
	assert_int_equal(wb_init(&run, &o), WB_OK);
	assert_int_equal(WB_LOG(run, 0, {"loss", 1.0}), WB_OK);
	rc = wb_finish(run, 0);
	snprintf(msg, cap, "%s", wb_errmsg());
	return rc;
}

static void test_e2e_tls__sdk_ca_file(void **state)
{
	char msg[2048];
	int rc;
	(void)state;

	rc = online_run(NULL, msg, sizeof(msg));
	print_message("without the CA: %s: %s\n", wb_strerror(rc), msg);
	assert_int_equal(rc, WB_ENET); /* not retried: a configuration error */
	assert_non_null(strstr(msg, "certificate"));

	rc = online_run(cert, msg, sizeof(msg));
	print_message("with the CA: %s: %s\n", wb_strerror(rc), msg);
	assert_null(strstr(msg, "certificate"));

	/* The same from the environment. */
	setenv("WB_CA_FILE", cert, 1);
	rc = online_run(NULL, msg, sizeof(msg));
	unsetenv("WB_CA_FILE");
	print_message("with WB_CA_FILE: %s: %s\n", wb_strerror(rc), msg);
	assert_null(strstr(msg, "certificate"));
}

static void test_e2e_tls__sync_env(void **state)
{
	char cmd[2048], out[400], run_dir[400], text[4096] = "";
	double t0;
	wb_init_options o = WB_INIT_OPTIONS_INIT;
	wb_run *run = NULL;
	FILE *f;
	size_t n;
	(void)state;

	o.entity = "ops";
	o.project = "tls";
	o.mode = WB_MODE_OFFLINE;
	o.disable_git = 1;
	o.system_sample_ms = -1;
	assert_int_equal(wb_init(&run, &o), WB_OK);
	assert_int_equal(WB_LOG(run, 0, {"loss", 1.0}), WB_OK);
	snprintf(run_dir, sizeof(run_dir), "%s", wb_run_dir(run));
	assert_int_equal(wb_finish(run, 0), WB_OK);
	snprintf(out, sizeof(out), "%s/sync.err", root);

	snprintf(cmd, sizeof(cmd), "'%s' sync '%s' 2>'%s' >/dev/null", wbt_wb_bin(), run_dir, out);
	t0 = wbt_now();
	assert_int_not_equal(system(cmd), 0);
	assert_true(wbt_now() - t0 < 30);
	assert_non_null(f = fopen(out, "r"));
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	print_message("wb sync without WB_CA_FILE: %s", text);
	assert_non_null(strstr(text, "certificate"));

}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_tls__sdk_ca_file),
		cmocka_unit_test(test_e2e_tls__sync_env),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
