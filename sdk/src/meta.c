/*
 * meta.c — what the run page shows about where a run ran.
 *
 * Collected once per new run, in wb_init, off the hot path. Every probe is
 * optional: a sandbox without /proc or a user without a passwd entry still
 * gets a run, with fewer fields. argv comes from /proc/self/cmdline because
 * the library is not handed main's argv.
 */
#include "meta.h"

#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "json.h"

#define CMDLINE_MAX (64u * 1024u)

const char *wb__meta_user(void)
{
	static _Thread_local char name[256];
	struct passwd pw, *res = NULL;
	char buf[4096];
	const char *env;

	if (getpwuid_r(geteuid(), &pw, buf, sizeof buf, &res) == 0 && res && res->pw_name &&
	    strlen(res->pw_name) < sizeof name) {
		strcpy(name, res->pw_name);
		return name;
	}
	env = getenv("USER");
	if (env && env[0])
		return env;
	env = getenv("LOGNAME");
	return env && env[0] ? env : NULL;
}

/* argv as a JSON array from /proc/self/cmdline; NULL if unreadable or on ENOMEM. */
static cJSON *meta_argv(void)
{
	char *buf = NULL;
	cJSON *arr = NULL;
	size_t have = 0;
	int fd;

	fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	buf = malloc(CMDLINE_MAX + 1);
	if (!buf)
		goto done;
	for (;;) {
		ssize_t n = read(fd, buf + have, CMDLINE_MAX - have);
		if (n <= 0)
			break;
		have += (size_t)n;
		if (have == CMDLINE_MAX)
			break;
	}
	buf[have] = '\0';
	arr = cJSON_CreateArray();
	if (!arr)
		goto done;
	for (size_t i = 0; i < have;) {
		size_t len = strlen(buf + i);
		cJSON *s = cJSON_CreateString(buf + i);
		if (!s || !cJSON_AddItemToArray(arr, s)) {
			cJSON_Delete(s);
			cJSON_Delete(arr);
			arr = NULL;
			goto done;
		}
		i += len + 1;
	}
done:
	free(buf);
	close(fd);
	return arr;
}

cJSON *wb__meta_collect(double start_time)
{
	cJSON *meta = NULL, *os = NULL, *argv = NULL;
	char host[256], path[PATH_MAX];
	struct utsname un;
	const char *user;
	ssize_t n;

	meta = cJSON_CreateObject();
	if (!meta)
		return NULL;
	if (gethostname(host, sizeof host) == 0) {
		host[sizeof host - 1] = '\0';
		if (!cJSON_AddStringToObject(meta, "hostname", host))
			goto nomem;
	}
	if (!cJSON_AddNumberToObject(meta, "pid", (double)getpid()))
		goto nomem;
	user = wb__meta_user();
	if (user && !cJSON_AddStringToObject(meta, "user", user))
		goto nomem;
	if (getcwd(path, sizeof path) && !cJSON_AddStringToObject(meta, "cwd", path))
		goto nomem;
	n = readlink("/proc/self/exe", path, sizeof path - 1);
	if (n > 0) {
		path[n] = '\0';
		if (!cJSON_AddStringToObject(meta, "executable", path))
			goto nomem;
	}
	argv = meta_argv();
	if (argv && !cJSON_AddItemToObject(meta, "argv", argv))
		goto nomem;
	argv = NULL;
	if (uname(&un) == 0) {
		os = cJSON_CreateObject();
		if (!os || !cJSON_AddStringToObject(os, "sysname", un.sysname) ||
		    !cJSON_AddStringToObject(os, "release", un.release) ||
		    !cJSON_AddStringToObject(os, "version", un.version) ||
		    !cJSON_AddStringToObject(os, "machine", un.machine) || !cJSON_AddItemToObject(meta, "os", os))
			goto nomem;
		os = NULL;
	}
	if (!cJSON_AddStringToObject(meta, "libwb", WB_VERSION) ||
	    !cJSON_AddItemToObject(meta, "start_time", wb__json_double(start_time)))
		goto nomem;
	return meta;
nomem:
	cJSON_Delete(argv);
	cJSON_Delete(os);
	cJSON_Delete(meta);
	return NULL;
}
