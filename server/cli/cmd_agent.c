/*
 * cmd_agent.c — `wb agent ENTITY/PROJECT/SWEEP [--count N] [--parallel K]
 * [-- CMD ARGS...]`: run a sweep's trials on this machine.
 *
 * The agent is stateless on purpose: everything about the search is in the
 * server (the controller decides, agents only execute), so any number of
 * agents may join or leave, on a workstation, one per MPI rank or one per
 * Slurm array task, and an agent that dies costs only its running trials,
 * whose leases run out and whose parameters the server re-issues. The loop:
 *
 *   POST next ─▶ trial: fork/exec the trainer with the trial in its
 *                environment; heartbeat every lease/3 while it runs;
 *                on exit POST finish with its exit code (a signal: 128+n)
 *             ─▶ wait: ask again after retry_seconds
 *             ─▶ done: exit 0 once the running trials are finished
 *
 * One thread, one poll: a self-pipe wakes the loop on SIGCHLD, SIGINT and
 * SIGTERM, so a trial's end is reported at once and the timeout of the
 * poll is the next thing due (a heartbeat, a retry, a SIGKILL after the
 * grace). Each request has a timeout of its own (REQ_TIMEOUT_MS, shorter
 * for heartbeats), so a server that hangs cannot make the agent miss the
 * lease of every other trial it runs.
 *
 * The trainer gets the trial in its environment (WB_SWEEP, WB_SWEEP_TRIAL,
 * WB_SWEEP_PARAMS, WB_RUN_ID) with the agent's server, entity, project and
 * key, so wb_run_init joins the sweep by itself (sdk/src/sweep.c). The key
 * goes by environment only, never on the trainer's command line, where
 * other users of the machine would read it. The variables by which a
 * launcher tells a process its rank are removed: under `mpirun -np K wb
 * agent` each agent is a rank, but its trials are not, and a trainer that
 * saw them would land as rank r of a group that is not there.
 *
 * Each trial runs in a process group of its own, so that stopping it
 * (SIGTERM, then SIGKILL after GRACE_MS) reaches what it started too (an
 * mpirun and its ranks), and with PR_SET_PDEATHSIG so that it does not
 * outlive an agent killed with SIGKILL: its lease then runs out and the
 * server re-issues its parameters to another agent.
 */
/* execvpe, pipe2: _GNU_SOURCE (the build defines it) */
#include "cmd.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "dynarr.h"
#include "json_exact.h"

extern char **environ;

#define GRACE_MS 10000                     /* SIGTERM, then SIGKILL after this */
#define EARLY_GRACE_DEFAULT_S 30.0         /* stopped early: seconds to exit by itself before the SIGTERM */
#define EARLY_GRACE_MAX_S 86400.0
#define REQ_TIMEOUT_MS 10000               /* next and finish */
#define ASK_BACKOFF_MAX_MS 30000           /* between tries of an unreachable server */
#define UNREACHABLE_MAX_MS (10 * 60 * 1000) /* asking gives up after this long without an answer */
#define FINISH_TRIES 6                     /* 0.5 + 1 + 2 + 4 + 8 s between them */
#define PARALLEL_MAX 256
#define ARGV_MAX 4096
#define NOEXEC_MAX 3 /* trials in a row whose command could not start: stop asking */

static const char agent_usage[] =
	"usage: wb agent ENTITY/PROJECT/SWEEP [--count N] [--parallel K] [--base-url URL] [--api-key KEY]\n"
	"                [-- CMD ARGS...]\n"
	"  Runs the sweep's trials: CMD (else the spec's command or program) with the trial's parameters in\n"
	"  WB_SWEEP_PARAMS; macros ${program} ${args} ${args_no_hyphens} ${args_json} ${interpreter} ${env}.\n"
	"  --count N: N trials in all, then exit; --parallel K: K trials at once (default 1).\n";

/* ---- signals: a self-pipe the loop polls ---- */

static int wake_fd[2] = {-1, -1};
static volatile sig_atomic_t got_signal, signal_count;

static void on_signal(int sig)
{
	int saved = errno;

	if (sig != SIGCHLD) {
		got_signal = sig;
		signal_count++;
	}
	if (write(wake_fd[1], "x", 1) < 0) {
		/* the pipe is full: the loop is awake already */
	}
	errno = saved;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- a list of strings (argv, envp) ---- */

typedef struct strv {
	char **v; /* NULL-terminated */
	size_t n, cap;
} strv;

static int strv_add(strv *s, char *owned)
{
	if (!owned)
		return -1;
	/* room for it and the NULL after it */
	if (wb__dynarr_reserve(&s->v, &s->cap, s->n, 2, sizeof(*s->v), ARGV_MAX)) {
		free(owned);
		return -1;
	}
	s->v[s->n++] = owned;
	s->v[s->n] = NULL;
	return 0;
}

static void strv_free(strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static char *cat(const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
	char *p = malloc(la + lb + lc + 1);

	if (p) {
		memcpy(p, a, la);
		memcpy(p + la, b, lb);
		memcpy(p + la + lb, c, lc + 1);
	}
	return p;
}

/* ---- the agent ---- */

typedef struct trial {
	pid_t pid; /* 0: the slot is free */
	long long num;
	char run_id[128];
	int64_t hb_every, next_hb; /* ms, mono */
	int64_t kill_at;           /* mono ms of the SIGKILL after a SIGTERM; 0: none sent */
	int64_t term_at;           /* stopped early: mono ms of the SIGTERM if it has not exited by then; 0: none */
	int lease_lost;
	int stopped; /* the agent stopped it (cancel, lost lease, a signal): the server records it stopped */
} trial;

typedef struct agent {
	wbs__api api;
	char ent[65], proj[65], sweep[65];
	char path[400]; /* /api/v1/projects/E/P/sweeps/S */
	char id[300];   /* host:pid, as the server records who holds a trial */
	char **cmd;     /* the command after --, or NULL */
	int ncmd;
	char *program;       /* the spec's program, or NULL */
	cJSON *spec_command; /* the spec's command (array), or NULL */
	trial *t;
	int k;
	long count, started;
	int noexec; /* trials in a row that could not start their command */
} agent;

/* A request with the agent's timeout. 0 with *out (status, body), or -1 on a transport error (err). */
static int call(const agent *ag, const char *method, const char *suffix, const char *body, long timeout_ms,
		wbs__api_resp *out, char *err, size_t errlen)
{
	char path[512];
	wbs__api_req rq = {0};

	snprintf(path, sizeof(path), "%s%s", ag->path, suffix);
	rq.method = method;
	rq.path = path;
	rq.body = body;
	rq.len = body ? strlen(body) : 0;
	rq.ctype = body ? "application/json" : NULL;
	rq.timeout_ms = timeout_ms;
	return wbs__api_request(&ag->api, &rq, out, err, errlen);
}

/* Wait ms for a signal (the self-pipe) or the time to pass. */
static void pause_ms(int64_t ms)
{
	struct pollfd pfd = {wake_fd[0], POLLIN, 0};
	char drain[64];

	if (poll(&pfd, 1, (int)ms) > 0)
		while (read(wake_fd[0], drain, sizeof(drain)) > 0) {
		}
}

/* The sweep's program and command, from its spec (once, at the start; an
 * unreachable server is asked again with a backoff, for as long as the loop
 * would). 0, or -1 with a message printed. */
static int load_sweep(agent *ag)
{
	wbs__api_resp r = {0};
	char err[512] = "";
	cJSON *j = NULL, *spec;
	const char *prog;
	int64_t since = mono_ms(), backoff = 1000;
	int rc = -1;

	while (call(ag, "GET", "", NULL, REQ_TIMEOUT_MS, &r, err, sizeof(err)) || r.status >= 500) {
		if (!err[0])
			snprintf(err, sizeof(err), "http %ld", r.status);
		free(r.body);
		r.body = NULL;
		if (got_signal || mono_ms() - since > UNREACHABLE_MAX_MS) {
			fprintf(stderr, "wb agent: cannot reach the server: %s\n", err);
			goto done;
		}
		fprintf(stderr, "wb agent: cannot reach the server (%s): again in %d s\n", err, (int)(backoff / 1000));
		pause_ms(backoff);
		backoff = backoff * 2 > ASK_BACKOFF_MAX_MS ? ASK_BACKOFF_MAX_MS : backoff * 2;
		err[0] = '\0';
	}
	if (r.status != 200) {
		fprintf(stderr, "wb agent: sweep %s/%s/%s: http %ld: %.300s\n", ag->ent, ag->proj, ag->sweep, r.status,
			r.body ? r.body : "");
		goto done;
	}
	if (!(j = cJSON_ParseWithLength(r.body, r.len))) {
		fprintf(stderr, "wb agent: the server's answer is not json\n");
		goto done;
	}
	spec = cJSON_GetObjectItem(j, "spec");
	if ((prog = cJSON_GetStringValue(cJSON_GetObjectItem(spec, "program"))) && !(ag->program = strdup(prog)))
		goto done;
	if (cJSON_IsArray(cJSON_GetObjectItem(spec, "command")))
		ag->spec_command = cJSON_DetachItemFromObject(spec, "command");
	rc = 0;
done:
	cJSON_Delete(j);
	free(r.body);
	return rc;
}

/* ---- the trial's command line ---- */

/* A parameter's value as the command line writes it: a number as the server
 * wrote it, a string as it is, anything else as JSON. malloc'd or NULL. */
static char *leaf_text(const cJSON *v)
{
	if (cJSON_IsNumber(v) && v->valuestring)
		return strdup(v->valuestring);
	if (cJSON_IsString(v))
		return strdup(v->valuestring);
	if (cJSON_IsBool(v))
		return strdup(cJSON_IsTrue(v) ? "true" : "false");
	return wb__json_print_exact(v);
}

/* ${args} (hyphens "--") or ${args_no_hyphens} (""): one argument per leaf, key dotted. */
static int add_args(strv *out, const cJSON *obj, const char *prefix, const char *hyphens)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, obj)
	{
		char *key = prefix[0] ? cat(prefix, ".", it->string) : strdup(it->string), *val, *kv;
		int rc;
		if (!key)
			return -1;
		if (cJSON_IsObject(it)) {
			rc = add_args(out, it, key, hyphens);
		} else {
			val = leaf_text(it);
			kv = val ? cat(key, "=", val) : NULL;
			rc = strv_add(out, kv ? cat(hyphens, kv, "") : NULL);
			free(kv);
			free(val);
		}
		free(key);
		if (rc)
			return -1;
	}
	return 0;
}

/* s with every occurrence of macro replaced by val. malloc'd or NULL. */
static char *replace(const char *s, const char *macro, const char *val)
{
	size_t ml = strlen(macro), vl = strlen(val), n = 0, cap;
	const char *p;
	char *out, *o;

	for (p = s; (p = strstr(p, macro)); p += ml)
		n++;
	if (n && vl > ml && n > (SIZE_MAX - strlen(s) - 1) / (vl - ml))
		return NULL;
	cap = strlen(s) + n * (vl > ml ? vl - ml : 0) + 1;
	if (!(out = malloc(cap)))
		return NULL;
	for (o = out, p = s; *p;) {
		if (!strncmp(p, macro, ml)) {
			memcpy(o, val, vl);
			o += vl;
			p += ml;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	return out;
}

/*
 * The trial's argv: the template (the command after --, else the spec's
 * command, else its program alone) with W&B's macros: ${args} and
 * ${args_no_hyphens} as whole arguments become one argument per
 * parameter; ${env}, and ${interpreter} for a program that is not a .py
 * file, as whole arguments vanish; ${program}, ${interpreter} and
 * ${args_json} are replaced inside any argument. 0, or -1 with err.
 */
static int build_argv(const agent *ag, const cJSON *params, const char *params_json, strv *out, char *err,
		      size_t errlen)
{
	const char *interp = "", *def[] = {"${program}"};
	const char *const *tmpl = NULL;
	const char **fromspec = NULL;
	size_t n = 0, plen = ag->program ? strlen(ag->program) : 0;
	int rc = -1;

	if (plen > 3 && !strcmp(ag->program + plen - 3, ".py"))
		interp = "python3";
	if (ag->cmd) {
		tmpl = (const char *const *)ag->cmd;
		n = (size_t)ag->ncmd;
	} else if (ag->spec_command && cJSON_GetArraySize(ag->spec_command) > 0) {
		const cJSON *it;
		n = (size_t)cJSON_GetArraySize(ag->spec_command);
		if (!(fromspec = calloc(n, sizeof(*fromspec))))
			goto nomem;
		n = 0;
		cJSON_ArrayForEach(it, ag->spec_command)
		{
			if (!cJSON_IsString(it)) {
				snprintf(err, errlen, "the sweep's command holds something that is not a string");
				goto done;
			}
			fromspec[n++] = it->valuestring;
		}
		tmpl = fromspec;
	} else if (ag->program) {
		tmpl = def;
		n = 1;
	} else {
		snprintf(err, errlen, "the sweep names no program or command: give one after --");
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		const char *a = tmpl[i];
		char *x, *y, *z, *w;
		if (!strcmp(a, "${args}") || !strcmp(a, "${args_no_hyphens}")) {
			if (add_args(out, params, "", a[6] == '}' ? "--" : ""))
				goto nomem;
			continue;
		}
		if (!strcmp(a, "${env}") || (!strcmp(a, "${interpreter}") && !interp[0]))
			continue;
		if (strstr(a, "${program}") && !ag->program) {
			snprintf(err, errlen, "the command uses ${program} but the sweep names no program");
			goto done;
		}
		x = replace(a, "${program}", ag->program ? ag->program : "");
		y = x ? replace(x, "${interpreter}", interp) : NULL;
		z = y ? replace(y, "${args_json}", params_json) : NULL;
		w = z ? replace(z, "${env}", "") : NULL;
		free(x);
		free(y);
		free(z);
		if (strv_add(out, w)) /* takes w, NULL included */
			goto nomem;
	}
	if (out->n == 0) {
		snprintf(err, errlen, "the trial's command is empty");
		goto done;
	}
	/* the spec's program is a file beside the spec (W&B's meaning), not a name to look up in PATH */
	if (ag->program && !strcmp(out->v[0], ag->program) && !strchr(out->v[0], '/') && access(out->v[0], X_OK) == 0) {
		char *p = cat("./", out->v[0], "");
		if (!p)
			goto nomem;
		free(out->v[0]);
		out->v[0] = p;
	}
	rc = 0;
	goto done;
nomem:
	snprintf(err, errlen, "out of memory (or a command of more than %d arguments)", ARGV_MAX);
done:
	free(fromspec);
	return rc;
}

/* Variables a launcher tells a process its rank by: the agent's, not its trials'. */
static int launcher_var(const char *e)
{
	static const char *const prefixes[] = {"OMPI_COMM_WORLD_", "PMI_", "PMIX_"};
	static const char *const names[] = {"SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", "SLURM_STEP_ID",
					    "RANK",         "WORLD_SIZE",   "LOCAL_RANK",    "MPI_LOCALRANKID"};
	size_t n = strcspn(e, "=");

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(e, prefixes[i], strlen(prefixes[i])))
			return 1;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == n && !strncmp(e, names[i], n))
			return 1;
	return 0;
}

/* The trial's environment: the agent's, without the launcher's rank and
 * with the trial's own variables (set here, whatever the agent had). */
static int build_env(const agent *ag, long long num, const char *run_id, const char *params_json, strv *out)
{
	static const char *const ours[] = {"WB_SWEEP",  "WB_SWEEP_TRIAL", "WB_SWEEP_PARAMS", "WB_RUN_ID",
					   "WB_ENTITY", "WB_PROJECT",     "WB_BASE_URL",     "WB_API_KEY"};
	char ref[200], numtxt[32];
	const char *vals[8];

	snprintf(ref, sizeof(ref), "%s/%s/%s", ag->ent, ag->proj, ag->sweep);
	snprintf(numtxt, sizeof(numtxt), "%lld", num);
	vals[0] = ref, vals[1] = numtxt, vals[2] = params_json, vals[3] = run_id;
	vals[4] = ag->ent, vals[5] = ag->proj, vals[6] = ag->api.base, vals[7] = ag->api.key;
	for (char **e = environ; *e; e++) {
		int skip = launcher_var(*e);
		for (size_t i = 0; !skip && i < 8; i++)
			skip = strncmp(*e, ours[i], strlen(ours[i])) == 0 && (*e)[strlen(ours[i])] == '=';
		if (!skip && strv_add(out, strdup(*e)))
			return -1;
	}
	for (size_t i = 0; i < 8; i++)
		if (vals[i][0] && strv_add(out, cat(ours[i], "=", vals[i])))
			return -1;
	return 0;
}

/* ---- trials ---- */

/* POST finish with the trial's exit code, retried while the server cannot be reached. */
static void report_finish(const agent *ag, const trial *t, int code)
{
	char suffix[64], body[400], err[512] = "";
	int64_t pause = 500;

	snprintf(suffix, sizeof(suffix), "/trials/%lld/finish", t->num);
	snprintf(body, sizeof(body), "{\"agent\":\"%s\",\"exit_code\":%d,\"stopped\":%s}", ag->id, code & 255,
		 t->stopped ? "true" : "false");
	for (int i = 0; i < FINISH_TRIES; i++) {
		wbs__api_resp r = {0};
		if (i) {
			struct timespec ts = {pause / 1000, (pause % 1000) * 1000000};
			nanosleep(&ts, NULL); /* a backoff between tries, not a synchronisation */
			pause *= 2;
		}
		if (call(ag, "POST", suffix, body, REQ_TIMEOUT_MS, &r, err, sizeof(err)) == 0) {
			cJSON *j = r.body ? cJSON_ParseWithLength(r.body, r.len) : NULL;
			const char *st = cJSON_GetStringValue(cJSON_GetObjectItem(j, "state"));
			if (r.status == 200)
				fprintf(stderr, "wb agent: trial %lld (run %s) exited with %d: %s\n", t->num, t->run_id,
					code, st ? st : "reported");
			else if (r.status < 500)
				fprintf(stderr, "wb agent: trial %lld (run %s) exited with %d; the server refused it: http "
						"%ld: %.200s\n",
					t->num, t->run_id, code, r.status, r.body ? r.body : "");
			cJSON_Delete(j);
			free(r.body);
			if (r.status < 500)
				return;
			snprintf(err, sizeof(err), "http %ld", r.status);
		}
	}
	fprintf(stderr, "wb agent: trial %lld (run %s) exited with %d, not reported (%s): its lease will run out\n",
		t->num, t->run_id, code, err);
}

/* Signal the trial's process group (the trial and what it started). */
static void signal_trial(trial *t, int sig)
{
	if (t->pid > 0 && kill(-t->pid, sig) != 0)
		kill(t->pid, sig);
}

/* Ask the trial to stop: SIGTERM now, SIGKILL after the grace. */
static void stop_trial(trial *t, const char *why)
{
	if (t->kill_at)
		return;
	fprintf(stderr, "wb agent: stopping trial %lld (run %s): %s\n", t->num, t->run_id, why);
	t->stopped = 1;
	signal_trial(t, SIGTERM);
	t->kill_at = mono_ms() + GRACE_MS;
}

/*
 * The server stopped t early (its rung was judged): the trainer, which sees
 * wb_run_should_stop, has grace seconds (the answer's, else
 * EARLY_GRACE_DEFAULT_S) to save and exit by itself; then stop_trial's
 * SIGTERM and SIGKILL. Either way it is reported stopped.
 */
static void early_stop(trial *t, const cJSON *rung, const cJSON *grace)
{
	double g = cJSON_IsNumber(grace) && grace->valuedouble >= 0 ? grace->valuedouble : EARLY_GRACE_DEFAULT_S;

	if (t->term_at || t->kill_at)
		return;
	if (g > EARLY_GRACE_MAX_S)
		g = EARLY_GRACE_MAX_S;
	if (cJSON_IsNumber(rung))
		fprintf(stderr, "wb agent: trial %lld (run %s) stopped early at rung %d: %gs to exit\n", t->num,
			t->run_id, rung->valueint, g);
	else
		fprintf(stderr, "wb agent: trial %lld (run %s) stopped early: %gs to exit\n", t->num, t->run_id, g);
	t->stopped = 1;
	t->term_at = mono_ms() + (int64_t)(g * 1000.0);
	if (t->term_at == 0)
		t->term_at = 1;
}

/* Start the trial the server answered with in slot t. 0, or -1 (the trial is reported failed). */
static int start_trial(agent *ag, trial *t, const cJSON *tr, int lease_s)
{
	const cJSON *params = cJSON_GetObjectItem(tr, "params"), *num = cJSON_GetObjectItem(tr, "num");
	const char *run_id = cJSON_GetStringValue(cJSON_GetObjectItem(tr, "run_id"));
	char err[512] = "", *pj = NULL;
	strv argv = {0}, envp = {0};
	sigset_t all, old;
	pid_t pid = -1, parent = getpid();
	int rc = -1;

	memset(t, 0, sizeof(*t));
	t->num = cJSON_IsNumber(num) ? (long long)num->valuedouble : -1;
	snprintf(t->run_id, sizeof(t->run_id), "%s", run_id ? run_id : "");
	if (!cJSON_IsObject(params) || !run_id || t->num < 0) {
		fprintf(stderr, "wb agent: the server's trial is not one (no num, run_id or params)\n");
		goto done;
	}
	if (!(pj = wb__json_print_exact(params)) || build_argv(ag, params, pj, &argv, err, sizeof(err)) ||
	    build_env(ag, t->num, t->run_id, pj, &envp)) {
		fprintf(stderr, "wb agent: trial %lld: %s\n", t->num, err[0] ? err : "out of memory");
		goto done;
	}
	fflush(NULL);
	/* no signal handler of the agent may run in the child before exec */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent) /* the agent died before the line above */
			_exit(128 + SIGTERM);
		sigprocmask(SIG_SETMASK, &old, NULL);
		execvpe(argv.v[0], argv.v, envp.v);
		fprintf(stderr, "wb agent: cannot run %s: %s\n", argv.v[0], strerror(errno));
		_exit(127);
	}
	if (pid > 0)
		setpgid(pid, pid); /* also here: the parent may signal the group before the child ran */
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		fprintf(stderr, "wb agent: trial %lld: cannot fork: %s\n", t->num, strerror(errno));
		goto done;
	}
	t->pid = pid;
	t->hb_every = lease_s > 0 ? (int64_t)lease_s * 1000 / 3 : 20000;
	t->next_hb = mono_ms() + t->hb_every;
	fprintf(stderr, "wb agent: trial %lld (run %s) started, pid %d: %s\n", t->num, t->run_id, (int)pid, pj);
	rc = 0;
done:
	if (rc && t->num >= 0) {
		ag->noexec++; /* as a command that cannot start: a sweep that cannot run here stops the agent */
		report_finish(ag, t, 127);
	}
	if (rc)
		memset(t, 0, sizeof(*t));
	strv_free(&argv);
	strv_free(&envp);
	free(pj);
	return rc;
}

/* Heartbeat t: a lost lease (409) or a canceled sweep (stop) stops the trial. */
static void heartbeat(const agent *ag, trial *t)
{
	char suffix[64], err[512], body[400];
	wbs__api_resp r = {0};
	int64_t to = t->hb_every < 1000 ? 1000 : t->hb_every > REQ_TIMEOUT_MS ? REQ_TIMEOUT_MS : t->hb_every;

	t->next_hb = mono_ms() + t->hb_every;
	snprintf(suffix, sizeof(suffix), "/trials/%lld/heartbeat", t->num);
	snprintf(body, sizeof(body), "{\"agent\":\"%s\"}", ag->id);
	if (call(ag, "POST", suffix, body, (long)to, &r, err, sizeof(err))) {
		/* the trial goes on; the next heartbeat may get through within the lease */
		fprintf(stderr, "wb agent: heartbeat of trial %lld: %s\n", t->num, err);
		return;
	}
	if (r.status == 409) {
		t->lease_lost = 1;
		stop_trial(t, "the server gave its lease up (a heartbeat came too late)");
	} else if (r.status == 200) {
		cJSON *j = cJSON_ParseWithLength(r.body, r.len);
		const char *reason = cJSON_GetStringValue(cJSON_GetObjectItem(j, "reason"));
		if (!cJSON_IsTrue(cJSON_GetObjectItem(j, "stop"))) {
			/* goes on */
		} else if (reason && strcmp(reason, "early") == 0) {
			early_stop(t, cJSON_GetObjectItem(j, "rung"), cJSON_GetObjectItem(j, "grace_seconds"));
		} else {
			stop_trial(t, "the sweep was canceled");
		}
		cJSON_Delete(j);
	} else {
		fprintf(stderr, "wb agent: heartbeat of trial %lld: http %ld: %.200s\n", t->num, r.status,
			r.body ? r.body : "");
	}
	free(r.body);
}

/* Reap every trial that ended and report it. */
static void reap(agent *ag)
{
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (int i = 0; i < ag->k; i++) {
			trial *t = &ag->t[i];
			int code;
			if (t->pid != pid)
				continue;
			code = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 1;
			ag->noexec = code == 127 ? ag->noexec + 1 : 0;
			if (t->kill_at)
				signal_trial(t, SIGKILL); /* what the trial started and left behind */
			report_finish(ag, t, code);
			memset(t, 0, sizeof(*t));
		}
	}
}

enum { ASK_TRIAL, ASK_WAIT, ASK_DONE, ASK_RETRY, ASK_FATAL };

/* POST next into the free slot t. *retry_ms: when to ask again (wait, retry). */
static int ask(agent *ag, trial *t, int64_t *retry_ms)
{
	char body[400], err[512];
	wbs__api_resp r = {0};
	cJSON *j = NULL;
	int rc = ASK_RETRY;

	snprintf(body, sizeof(body), "{\"agent\":\"%s\"}", ag->id);
	if (call(ag, "POST", "/next", body, REQ_TIMEOUT_MS, &r, err, sizeof(err))) {
		fprintf(stderr, "wb agent: asking for a trial: %s\n", err);
		goto done;
	}
	if (r.status >= 500 || r.status == 429) {
		fprintf(stderr, "wb agent: asking for a trial: http %ld\n", r.status);
		goto done;
	}
	/* exact: the parameters reach the trainer as the server wrote them */
	if (r.status != 200 || !(j = wb__json_parse_exact(r.body, r.len))) {
		fprintf(stderr, "wb agent: asking for a trial: http %ld: %.300s\n", r.status, r.body ? r.body : "");
		rc = ASK_FATAL;
		goto done;
	}
	if (cJSON_IsObject(cJSON_GetObjectItem(j, "trial"))) {
		const cJSON *ls = cJSON_GetObjectItem(j, "lease_seconds");
		const char *prog = cJSON_GetStringValue(cJSON_GetObjectItem(j, "program"));
		char *p;
		/* the server's word on what to run (the spec's command, else its program) over the spec read at start */
		if (cJSON_IsArray(cJSON_GetObjectItem(j, "command"))) {
			cJSON_Delete(ag->spec_command);
			ag->spec_command = cJSON_DetachItemFromObject(j, "command");
		}
		if (prog && (p = strdup(prog))) {
			free(ag->program);
			ag->program = p;
		}
		ag->started++;
		rc = start_trial(ag, t, cJSON_GetObjectItem(j, "trial"), cJSON_IsNumber(ls) ? ls->valueint : 60) == 0
			     ? ASK_TRIAL
			     : ASK_RETRY;
		*retry_ms = 0;
	} else if (cJSON_IsTrue(cJSON_GetObjectItem(j, "done"))) {
		fprintf(stderr, "wb agent: the sweep is %s: no more trials\n",
			cJSON_GetStringValue(cJSON_GetObjectItem(j, "state")) ? cJSON_GetStringValue(cJSON_GetObjectItem(j, "state"))
									    : "done");
		rc = ASK_DONE;
	} else {
		const cJSON *rs = cJSON_GetObjectItem(j, "retry_seconds");
		*retry_ms = cJSON_IsNumber(rs) && rs->valuedouble >= 1 && rs->valuedouble <= 3600
				    ? (int64_t)(rs->valuedouble * 1000)
				    : 5000;
		rc = ASK_WAIT;
	}
done:
	cJSON_Delete(j);
	free(r.body);
	return rc;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* The loop (the top of the file); the process exit code. */
static int run(agent *ag)
{
	int64_t next_ask = 0, backoff = 0, failing_since = 0;
	int asking = 1, code = 0, forwarded = 0, killed = 0;

	for (;;) {
		int64_t now, wait = 1000;
		int running = 0, freeslot = -1;

		reap(ag);
		if (got_signal && !forwarded) { /* pass it on, report the trials as they end, then exit */
			fprintf(stderr, "wb agent: %s: stopping the running trials\n", strsignal(got_signal));
			for (int i = 0; i < ag->k; i++)
				if (ag->t[i].pid) {
					ag->t[i].stopped = 1;
					signal_trial(&ag->t[i], got_signal);
					ag->t[i].kill_at = mono_ms() + GRACE_MS;
				}
			forwarded = 1;
			asking = 0;
			code = 128 + got_signal;
		}
		if (signal_count > 1 && !killed) { /* asked twice: no grace */
			for (int i = 0; i < ag->k; i++)
				signal_trial(&ag->t[i], SIGKILL);
			killed = 1;
		}
		if (ag->noexec >= NOEXEC_MAX && asking) {
			fprintf(stderr, "wb agent: %d trials in a row could not start their command: stopping\n",
				ag->noexec);
			asking = 0;
			code = 1;
		}
		now = mono_ms();
		for (int i = 0; i < ag->k; i++) {
			trial *t = &ag->t[i];
			if (!t->pid) {
				if (freeslot < 0)
					freeslot = i;
				continue;
			}
			running++;
			if (t->term_at && !t->kill_at && now >= t->term_at)
				stop_trial(t, "stopped early, and it did not exit within the grace");
			if (t->kill_at && now >= t->kill_at) {
				signal_trial(t, SIGKILL);
				t->kill_at = now + GRACE_MS; /* again, if it still lingers */
			}
			if (!t->lease_lost && now >= t->next_hb)
				heartbeat(ag, t);
			if (!t->lease_lost && t->next_hb - now < wait)
				wait = t->next_hb - now;
			if (t->kill_at && t->kill_at - now < wait)
				wait = t->kill_at - now;
			if (t->term_at && !t->kill_at && t->term_at - now < wait)
				wait = t->term_at - now > 0 ? t->term_at - now : 0;
		}
		if (asking && ag->count && ag->started >= ag->count)
			asking = 0;
		if (asking && freeslot >= 0 && now >= next_ask) {
			int64_t retry = 0;
			switch (ask(ag, &ag->t[freeslot], &retry)) {
			case ASK_TRIAL:
				failing_since = backoff = 0;
				continue; /* another free slot may take one now */
			case ASK_WAIT:
				failing_since = backoff = 0;
				next_ask = mono_ms() + retry;
				break;
			case ASK_DONE:
				asking = 0;
				break;
			case ASK_FATAL:
				asking = 0;
				code = 1;
				break;
			default:
				now = mono_ms();
				if (!failing_since)
					failing_since = now;
				backoff = backoff ? (backoff * 2 > ASK_BACKOFF_MAX_MS ? ASK_BACKOFF_MAX_MS : backoff * 2)
						  : 1000;
				next_ask = now + backoff;
				if (now - failing_since > UNREACHABLE_MAX_MS) {
					fprintf(stderr, "wb agent: no answer for %d minutes: giving up\n",
						UNREACHABLE_MAX_MS / 60000);
					asking = 0;
					code = 1;
				}
			}
		}
		if (!running && !asking)
			break;
		if (asking && freeslot >= 0)
			wait = next_ask - mono_ms() < wait ? next_ask - mono_ms() : wait;
		if (wait < 0)
			wait = 0;
		pause_ms(wait);
	}
	return code;
}

int wbs__cmd_agent(int argc, char **argv)
{
	const char *ref = NULL, *base = NULL, *key = NULL;
	char err[1024] = "", parts[3][65], host[256] = "localhost";
	struct sigaction sa;
	agent ag;
	long parallel = 1;
	int code = 2, init = 0;

	memset(&ag, 0, sizeof(ag));
	for (int i = 0; i < argc; i++) {
		const char *s = argv[i];
		if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
			fputs(agent_usage, stdout);
			return 0;
		}
		if (!strcmp(s, "--")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "wb agent: no command after --\n%s", agent_usage);
				return 2;
			}
			ag.cmd = argv + i + 1;
			ag.ncmd = argc - i - 1;
			break;
		}
		if ((!strcmp(s, "--count") || !strcmp(s, "--parallel") || !strcmp(s, "--base-url") ||
		     !strcmp(s, "--api-key")) &&
		    i + 1 < argc) {
			const char *v = argv[++i];
			if (s[2] == 'b')
				base = v;
			else if (s[2] == 'a')
				key = v;
			else if (s[2] == 'c' ? parse_long(v, 1, 1L << 30, &ag.count)
					     : parse_long(v, 1, PARALLEL_MAX, &parallel)) {
				fprintf(stderr, "wb agent: %s takes a number from 1 to %ld\n", s,
					s[2] == 'c' ? 1L << 30 : (long)PARALLEL_MAX);
				return 2;
			}
		} else if (s[0] == '-' || ref) {
			fprintf(stderr, "wb agent: unexpected argument %s\n%s", s, agent_usage);
			return 2;
		} else {
			ref = s;
		}
	}
	if (!ref || wbs__ref_split(ref, parts, 3)) {
		fprintf(stderr, "wb agent: give the sweep as ENTITY/PROJECT/SWEEP\n%s", agent_usage);
		return 2;
	}
	code = 1;
	snprintf(ag.ent, sizeof(ag.ent), "%s", parts[0]);
	snprintf(ag.proj, sizeof(ag.proj), "%s", parts[1]);
	snprintf(ag.sweep, sizeof(ag.sweep), "%s", parts[2]);
	snprintf(ag.path, sizeof(ag.path), "/api/v1/projects/%s/%s/sweeps/%s", parts[0], parts[1], parts[2]);
	gethostname(host, sizeof(host) - 1);
	snprintf(ag.id, sizeof(ag.id), "%.200s:%ld", host, (long)getpid());
	for (char *p = ag.id; *p; p++) /* it goes into a JSON string */
		if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
			*p = '_';
	ag.k = (int)parallel;
	if (!(ag.t = calloc((size_t)ag.k, sizeof(*ag.t))) || pipe2(wake_fd, O_CLOEXEC | O_NONBLOCK)) {
		snprintf(err, sizeof(err), "out of memory or file descriptors");
		goto done;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	wbs__api_global_init();
	init = 1;
	if (wbs__api_init(&ag.api, base, key, err, sizeof(err)) || load_sweep(&ag))
		goto done;
	fprintf(stderr, "wb agent: %s on %s for sweep %s/%s/%s (%ld at a time%s)\n", ag.id, ag.api.base, ag.ent, ag.proj,
		ag.sweep, parallel, ag.count ? ", then exit" : "");
	code = run(&ag);
done:
	if (err[0])
		fprintf(stderr, "wb agent: %s\n", err);
	if (init)
		wbs__api_global_cleanup();
	memset(&ag.api, 0, sizeof(ag.api));
	free(ag.t);
	free(ag.program);
	cJSON_Delete(ag.spec_command);
	return code;
}
