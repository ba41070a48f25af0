/*
 * meta.c — what the run page shows about where a run ran.
 *
 * Collected once per new run, in wb_run_init, off the hot path. Every probe is
 * optional: a sandbox without /proc or a user without a passwd entry still
 * gets a run, with fewer fields. argv comes from /proc/self/cmdline because
 * the library is not handed main's argv.
 *
 * Environment variables are recorded only from an allow-list of names that
 * matter for reproducing a run (devices, thread counts, launcher ranks) —
 * never the whole environment, which holds tokens and passwords. Even an
 * allowed name is dropped if it looks like a secret (wb__env_allowed).
 *
 * One secret filter serves the values of both (wb__secret_clean): a name
 * "looks like a secret" when it contains KEY, TOKEN, SECRET, PASSWORD,
 * PASS, CREDENTIAL or AUTH in any case, and then its value becomes
 * "[redacted]" — in the environment the variable is left out, on the
 * command line the value of such a flag is replaced (`--api-key=v`,
 * `--api-key v`, `hf_token=v` as Hydra-style overrides take them, a
 * `?token=v` query parameter), and the credentials of any URL become
 * "[redacted]" too. argv is public to whoever may read the run (anyone, on
 * a public project), so the filter errs on the side of hiding: `--author`
 * loses its value as well.
 */
#include "meta.h"

#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "json.h"
#include "util.h"

#define CMDLINE_MAX (64u * 1024u)
#define REDACTED "[redacted]"

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

/* argv as a JSON array from /proc/self/cmdline, each argument through
 * wb__arg_clean; NULL if unreadable or on ENOMEM. */
static cJSON *meta_argv(void)
{
	char *buf = NULL, **args = NULL;
	cJSON *arr = NULL;
	size_t have = 0, n = 0;
	int fd;

	fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	buf = malloc(CMDLINE_MAX + 1);
	if (!buf)
		goto done;
	for (;;) {
		ssize_t r = read(fd, buf + have, CMDLINE_MAX - have);
		if (r <= 0)
			break;
		have += (size_t)r;
		if (have == CMDLINE_MAX)
			break;
	}
	buf[have] = '\0';
	/* at most one argument per byte read, plus the one a full buffer cuts */
	if (!(args = calloc(have + 1, sizeof *args)))
		goto done;
	for (size_t i = 0; i < have; i += strlen(buf + i) + 1)
		args[n++] = buf + i;
	if (!(arr = cJSON_CreateArray()))
		goto done;
	for (size_t i = 0; i < n; i++) {
		char *clean = wb__arg_clean((const char *const *)args, i);
		cJSON *js = clean ? cJSON_CreateString(clean) : NULL;
		free(clean);
		if (!js || !cJSON_AddItemToArray(arr, js)) {
			cJSON_Delete(js);
			cJSON_Delete(arr);
			arr = NULL;
			goto done;
		}
	}
done:
	free(args);
	free(buf);
	close(fd);
	return arr;
}

/*
 * The allow-list: exact names, and prefixes (ending in '_') whose every
 * variable is recorded. Keep README.md's "Reproducibility" section in step.
 */
static const char *const env_allow[] = {
	/* devices */
	"CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER", "NVIDIA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES",
	"ROCR_VISIBLE_DEVICES", "CUBLAS_WORKSPACE_CONFIG", "CUDA_LAUNCH_BLOCKING", "NCCL_",
	/* threads and math libraries */
	"OMP_", "MKL_", "OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "KMP_AFFINITY", "KMP_BLOCKTIME",
	/* launchers: torchrun, MPI, Slurm */
	"RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "GROUP_RANK", "MASTER_ADDR", "MASTER_PORT",
	"TORCHELASTIC_RUN_ID", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK",
	"PMI_RANK", "PMI_SIZE", "PMIX_RANK", "SLURM_",
	/* interpreters and environments */
	"PYTHONHASHSEED", "VIRTUAL_ENV", "CONDA_DEFAULT_ENV", "XLA_FLAGS", "TF_CPP_MIN_LOG_LEVEL",
	/* wb's own settings that shape a run (WB_API_KEY is caught by the secret rule) */
	"WB_PROJECT", "WB_ENTITY", "WB_RUN_GROUP", "WB_JOB_TYPE", "WB_MODE", "WB_TAGS",
};

/* Parts of a name that mark a secret, matched case-insensitively anywhere. */
static const char *const secret_parts[] = {"KEY", "TOKEN", "SECRET", "PASSWORD", "PASS", "CREDENTIAL", "AUTH"};

int wb__secret_name(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof secret_parts / sizeof secret_parts[0]; i++) {
		size_t n = strlen(secret_parts[i]);
		for (size_t j = 0; j + n <= len; j++)
			if (strncasecmp(name + j, secret_parts[i], n) == 0)
				return 1;
	}
	return 0;
}

int wb__env_allowed(const char *name, size_t len)
{
	int listed = 0;

	if (wb__secret_name(name, len))
		return 0;
	for (size_t i = 0; i < sizeof env_allow / sizeof env_allow[0] && !listed; i++) {
		size_t n = strlen(env_allow[i]);
		if (env_allow[i][n - 1] == '_')
			listed = len > n && strncmp(name, env_allow[i], n) == 0;
		else
			listed = len == n && strncmp(name, env_allow[i], n) == 0;
	}
	return listed;
}

/* A character of a flag's or a parameter's name. */
static int name_char(char c) { return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.'; }

char *wb__secret_clean(const char *s)
{
	size_t len = strlen(s), marks = 0, cap, o = 0, i = 0, lead;
	char *out;

	/* Each redaction replaces at least one byte after an '=' or before an
	 * '@' with REDACTED: that bounds the output. */
	for (size_t k = 0; k < len; k++)
		marks += s[k] == '=' || s[k] == '@';
	if (__builtin_mul_overflow(marks, sizeof REDACTED, &cap) || wb__add_overflow(cap, len + 1, &cap) ||
	    !(out = malloc(cap)))
		return NULL;
	lead = strspn(s, "-+"); /* "--name=", "+name=" (Hydra): the whole rest is the value */
	while (i < len) {
		if (s[i] == ':' && s[i + 1] == '/' && s[i + 2] == '/') {
			/* scheme://user:secret@host: the userinfo ends at the authority's last '@' */
			size_t a = i + 3, end = a + strcspn(s + a, "/?# \t\n"), at = 0;
			for (size_t k = a; k < end; k++)
				if (s[k] == '@')
					at = k;
			memcpy(out + o, "://", 3);
			o += 3;
			i = a;
			if (at > a) {
				memcpy(out + o, REDACTED, sizeof REDACTED - 1);
				o += sizeof REDACTED - 1;
				i = at;
			}
			continue;
		}
		if (s[i] == '=') {
			size_t start = i, vend;
			while (start > 0 && name_char(s[start - 1]))
				start--;
			out[o++] = s[i++];
			if (!wb__secret_name(s + start, i - 1 - start))
				continue;
			/* the value: the rest of a "name=value" argument, else up to the next separator */
			vend = start <= lead ? len : i + strcspn(s + i, "&#; \t\n");
			if (vend > i) {
				memcpy(out + o, REDACTED, sizeof REDACTED - 1);
				o += sizeof REDACTED - 1;
				i = vend;
			}
			continue;
		}
		out[o++] = s[i++];
	}
	out[o] = '\0';
	return out;
}

char *wb__arg_clean(const char *const *argv, size_t i)
{
	const char *prev = i > 0 ? argv[i - 1] : NULL;

	/* "--api-key VALUE": the flag has no '=' and a secret's name; VALUE is
	 * anything but the next long option */
	if (prev && prev[0] == '-' && !strchr(prev, '=') && strncmp(argv[i], "--", 2) != 0) {
		size_t d = strspn(prev, "-"), n = strlen(prev + d);
		int is_name = n > 0;
		for (size_t k = d; prev[k] && is_name; k++)
			is_name = name_char(prev[k]);
		if (is_name && wb__secret_name(prev + d, n))
			return strdup(REDACTED);
	}
	return wb__secret_clean(argv[i]);
}

char *wb__env_value_clean(const char *value) { return wb__secret_clean(value); }

/* The allowed part of the environment as a JSON object; NULL on ENOMEM. */
static cJSON *meta_env(void)
{
	extern char **environ;
	cJSON *env = cJSON_CreateObject();

	if (!env)
		return NULL;
	for (char **e = environ; e && *e; e++) {
		const char *eq = strchr(*e, '=');
		char name[256], *val;
		int ok;

		if (!eq || (size_t)(eq - *e) >= sizeof name || !wb__env_allowed(*e, (size_t)(eq - *e)))
			continue;
		memcpy(name, *e, (size_t)(eq - *e));
		name[eq - *e] = '\0';
		if (!(val = wb__env_value_clean(eq + 1))) {
			cJSON_Delete(env);
			return NULL;
		}
		ok = cJSON_AddStringToObject(env, name, val) != NULL;
		free(val);
		if (!ok) {
			cJSON_Delete(env);
			return NULL;
		}
	}
	return env;
}

/* Value of the first "key<spaces>: value" line of a /proc file, or 0. */
int wb__proc_field(const char *path, const char *key, char *out, size_t cap)
{
	char line[512];
	size_t klen = strlen(key);
	FILE *f = fopen(path, "re");
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof line, f)) {
		char *v;
		if (strncmp(line, key, klen) != 0)
			continue;
		v = line + klen;
		while (*v == ' ' || *v == '\t')
			v++;
		if (*v != ':')
			continue;
		v++;
		while (*v == ' ' || *v == '\t')
			v++;
		v[strcspn(v, "\n")] = '\0';
		snprintf(out, cap, "%s", v);
		found = 1;
	}
	fclose(f);
	return found;
}

/* cpu {model, count}, memory_total (bytes), compiler. 0 or -1 on ENOMEM. */
static int meta_machine(cJSON *meta)
{
	char model[256], mem[64];
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	cJSON *cpu = cJSON_AddObjectToObject(meta, "cpu");

	if (!cpu)
		return -1;
	if (wb__proc_field("/proc/cpuinfo", "model name", model, sizeof model) &&
	    !cJSON_AddStringToObject(cpu, "model", model))
		return -1;
	if (n > 0 && !cJSON_AddNumberToObject(cpu, "count", (double)n))
		return -1;
	if (wb__proc_field("/proc/meminfo", "MemTotal", mem, sizeof mem)) {
		unsigned long long kb = strtoull(mem, NULL, 10);
		if (kb && !cJSON_AddItemToObject(meta, "memory_total", wb__json_int((int64_t)(kb * 1024))))
			return -1;
	}
#ifdef __VERSION__
	if (!cJSON_AddStringToObject(meta, "compiler", __VERSION__))
		return -1;
#endif
	return 0;
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
	if (meta_machine(meta))
		goto nomem;
	{
		cJSON *env = meta_env();
		if (!env || !cJSON_AddItemToObject(meta, "env", env)) {
			cJSON_Delete(env);
			goto nomem;
		}
	}
	if (!cJSON_AddStringToObject(meta, "libwb", WB_VERSION) ||
	    !cJSON_AddItemToObject(meta, "start_time", wb__json_double(start_time)))
		goto nomem;
	/* argv, paths and the environment are bytes; the server takes UTF-8 only. */
	if (wb__json_utf8_fix(meta))
		goto nomem;
	return meta;
nomem:
	cJSON_Delete(argv);
	cJSON_Delete(os);
	cJSON_Delete(meta);
	return NULL;
}
