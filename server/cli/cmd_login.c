/*
 * cmd_login.c — `wb login [--host URL] [--key KEY]`: check an API key
 * against a server and store it, with the server's address, in the
 * settings file where libwb and the other commands find it
 * ($WB_CONFIG_DIR/settings, else $XDG_CONFIG_HOME/wb/settings, else
 * ~/.config/wb/settings; mode 0600; see server/auth/auth.h).
 *
 * The key comes from --key, else WB_API_KEY, else standard input (typed
 * with the terminal's echo off when it is a terminal), so that it need not
 * appear in the shell's history. A key is created in the web UI (Settings →
 * API keys) or with POST /api/v1/keys. It is checked with GET
 * /api/v1/auth/session before anything is written: a typo never replaces a
 * working key. The answer's user name is written beside the key as its
 * entity: the default entity of runs made with that key (a user's own
 * entity is their name), so wb_init knows it without asking the server.
 */
#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "api.h"
#include "auth/auth.h"

static const char login_usage[] = "usage: wb login [--host URL] [--key KEY]\n";

/* Read a line from stdin, without echo on a terminal. 0 or -1. */
static int read_key(char *out, size_t cap)
{
	struct termios old, quiet;
	int tty = isatty(STDIN_FILENO), restore = 0;
	size_t n;

	if (tty) {
		fputs("API key (create one under Settings in the web UI): ", stderr);
		if (tcgetattr(STDIN_FILENO, &old) == 0) {
			quiet = old;
			quiet.c_lflag &= ~(tcflag_t)ECHO;
			restore = tcsetattr(STDIN_FILENO, TCSANOW, &quiet) == 0;
		}
	}
	if (!fgets(out, (int)cap, stdin))
		out[0] = '\0';
	if (restore) {
		tcsetattr(STDIN_FILENO, TCSANOW, &old);
		fputc('\n', stderr);
	}
	n = strlen(out);
	while (n && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
		out[--n] = '\0';
	return n ? 0 : -1;
}

int wbs__cmd_login(int argc, char **argv)
{
	char host[1024] = "", key[300] = "", path[4096], err[512], name[128] = "";
	size_t klen;
	const char *env;
	wbs__api api;
	wbs__api_resp r = {0};
	cJSON *j = NULL;
	int code = 1;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(login_usage, stdout);
			return 0;
		}
		if ((strcmp(a, "--host") == 0 || strcmp(a, "--key") == 0) && i + 1 < argc) {
			snprintf(a[2] == 'h' ? host : key, a[2] == 'h' ? sizeof(host) : sizeof(key), "%s", argv[++i]);
		} else if (strncmp(a, "--host=", 7) == 0) {
			snprintf(host, sizeof(host), "%s", a + 7);
		} else if (strncmp(a, "--key=", 6) == 0) {
			snprintf(key, sizeof(key), "%s", a + 6);
		} else {
			fprintf(stderr, "wb login: unexpected argument %s\n%s", a, login_usage);
			return 2;
		}
	}
	if (wbs__settings_path(path, sizeof(path))) {
		fprintf(stderr, "wb login: no settings directory: set WB_CONFIG_DIR, XDG_CONFIG_HOME or HOME\n");
		return 1;
	}
	if (!host[0] && (env = getenv("WB_BASE_URL")) && *env)
		snprintf(host, sizeof(host), "%s", env);
	if (!host[0])
		snprintf(host, sizeof(host), "http://127.0.0.1:8080");
	{
		size_t n = strlen(host);
		while (n && host[n - 1] == '/')
			host[--n] = '\0';
	}
	if (strncmp(host, "http://", 7) != 0 && strncmp(host, "https://", 8) != 0) {
		fprintf(stderr, "wb login: --host must start with http:// or https://\n");
		return 2;
	}
	if (!key[0] && (env = getenv("WB_API_KEY")) && *env)
		snprintf(key, sizeof(key), "%s", env);
	if (!key[0] && read_key(key, sizeof(key))) {
		fprintf(stderr, "wb login: no key given\n");
		return 2;
	}
	klen = strlen(key);
	if (strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") != klen ||
	    klen >= sizeof(api.key)) {
		fprintf(stderr, "wb login: that does not look like an api key\n");
		goto done;
	}
	memset(&api, 0, sizeof(api));
	snprintf(api.base, sizeof(api.base), "%s", host);
	memcpy(api.key, key, klen + 1); /* klen < sizeof(api.key), checked above */
	wbs__api_global_init();
	if (wbs__api_do(&api, "GET", "/api/v1/auth/session", NULL, 0, NULL, &r, err, sizeof(err))) {
		fprintf(stderr, "wb login: cannot reach %s: %s\n", host, err);
		goto done;
	}
	if (r.status == 401) {
		fprintf(stderr, "wb login: %s does not accept that key (unknown or revoked)\n", host);
		goto done;
	}
	j = r.body ? cJSON_Parse(r.body) : NULL;
	{
		const cJSON *u = cJSON_GetObjectItemCaseSensitive(j, "user");
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(u, "name");
		if (r.status != 200 || !cJSON_IsString(n)) {
			fprintf(stderr, "wb login: unexpected answer from %s (http %ld); is it a wb server?\n", host, r.status);
			goto done;
		}
		snprintf(name, sizeof(name), "%s", n->valuestring);
	}
	if (wbs__settings_write(path, host, key, name, err, sizeof(err))) {
		fprintf(stderr, "wb login: %s\n", err);
		goto done;
	}
	printf("signed in to %s as %s; key stored in %s (runs go to entity %s unless one is given)\n", host, name,
	       path, name);
	code = 0;
done:
	memset(key, 0, sizeof(key));
	memset(&api, 0, sizeof(api));
	cJSON_Delete(j);
	free(r.body);
	wbs__api_global_cleanup();
	return code;
}
