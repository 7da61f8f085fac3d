/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * build/prep-deno: the runner's native front (see launcher.h).
 *
 *   run MODULE [--timeout S] [--heap-mb N] [--memory-mb N] [--tasks-max N] [--slurm-conf F]
 *       [--list-exports]
 *       with SLURM_SCRIPT_CONTEXT set and an absolute MODULE: the hot path.
 *       The plan comes from the cache (Deno computes it on a miss); then
 *       pd_supervise runs bwrap -> deno, the hook's one Deno process.
 *   __exec [same flags] [--hook H] [--module M] [--no-status]
 *       runs a plan read from stdin the same way (src/launch/spawn.ts: try,
 *       check, the warm service); the environment is the job's.
 *   __contract
 *       prints the values this build was compiled with (-D from
 *       src/contract.ts) as JSON, for tests/runner/launcher_contract_test.ts.
 *   anything else (and a run line this parser does not take: help, usage
 *       errors, relative paths) runs src/main.ts on the pinned Deno, which
 *       gives the messages.
 *
 * A shell script would add PWD and friends to the hook's environment; this
 * passes the environment on byte for byte.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "launcher.h"
#include "plan.h"
#include "supervise.h"

static const char *const run_flags[] = { "run", PREP_DENO_RUN_FLAGS };
#define N_FLAGS (sizeof(run_flags) / sizeof(run_flags[0]))

static void exec_deno_main(int argc, char **argv)
{
	char **args = calloc((size_t)argc + N_FLAGS + 2, sizeof(char *));
	size_t n = 0;

	if (!args)
		exit(PD_EXIT_SANDBOX);
	args[n++] = (char *)PREP_DENO_DENO;
	for (size_t i = 0; i < N_FLAGS; i++)
		args[n++] = (char *)run_flags[i];
	args[n++] = (char *)PREP_DENO_MAIN;
	for (int i = 1; i < argc; i++)
		args[n++] = argv[i];
	args[n] = NULL;
	execv(PREP_DENO_DENO, args);
	fprintf(stderr, "prep-deno: cannot execute %s: %s\n", PREP_DENO_DENO, strerror(errno));
	exit(PD_EXIT_SANDBOX);
}

/* A non-negative decimal, as src/cli/args.ts takes it; -1 otherwise. */
static double number(const char *s, double max)
{
	char *end;
	double v;

	if (!s || !*s || strspn(s, "0123456789.") != strlen(s))
		return -1;
	v = strtod(s, &end);
	return *end || v > max ? -1 : v;
}

/* The numbers' one set of bounds (src/contract.ts NUMBERS, PD_NUMBERS in contract.h). */
static const struct {
	const char *key, *flag;
	long long min, max, def;
} numbers[] = {
#define PD_ROW(suffix, key, flag, min, max, def) { key, flag, min, max, def },
	PD_NUMBERS(PD_ROW)
#undef PD_ROW
};
enum {
#define PD_INDEX(suffix, key, flag, min, max, def) N_##suffix,
	PD_NUMBERS(PD_INDEX)
#undef PD_INDEX
	N_NUMBERS
};

/*
 * A flag of that table with its value: 0 and *out when good; -1 when bad,
 * with `why` in src/contract.ts numberProblem()'s words (flag form).
 */
static int whole(size_t i, const char *v, long *out, char *why, size_t len)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = v && *v && strspn(v, "0123456789") == strlen(v) ? strtoull(v, &end, 10) : 0;
	if (!v || !*v || strspn(v, "0123456789") != strlen(v) || errno ||
	    n < (unsigned long long)numbers[i].min || n > (unsigned long long)numbers[i].max) {
		snprintf(why, len, "%s=%.64s%s: not a whole number from %lld to %lld (PrEpParameters %s)",
			 numbers[i].flag, v ? v : "", v && strlen(v) > 64 ? "..." : "",
			 numbers[i].min, numbers[i].max, numbers[i].key);
		return -1;
	}
	*out = (long)n;
	return 0;
}

static const char *hook_for_context(const char *context)
{
#define PD_HOOK_ROW(context, hook) { context, hook },
	static const char *const map[][2] = { PD_HOOK_CONTEXTS(PD_HOOK_ROW) };
#undef PD_HOOK_ROW

	for (size_t i = 0; context && i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(context, map[i][0]))
			return map[i][1];
	return NULL;
}

/*
 * The record's descriptor, close-on-exec so no process of the hook holds
 * it. One of the standard three (the warm service, which can hand down no
 * other, passes stdout) is moved up and /dev/null takes its place: the
 * hook then writes to /dev/null there, never into the record.
 */
static int outcome_fd(int fd)
{
	int moved, null;

	if (fd >= 3)
		return fcntl(fd, F_SETFD, FD_CLOEXEC) == 0 ? fd : -1;
	moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (moved < 0 || null < 0 || dup2(null, fd) < 0)
		return -1;
	close(null);
	return moved;
}

/*
 * Parses run/__exec flags into h; 0, or -1 for a line Deno should explain
 * (`why` says what is wrong with a number, for __exec, which has no Deno).
 */
static int parse(int argc, char **argv, struct pd_hook *h, const char **module, int exec_mode,
		 char *why, size_t why_len)
{
	long value[N_NUMBERS];
	int given[N_NUMBERS] = { 0 };

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		double d;
		size_t k;

		/* Rows without a flag (the journal's) are the plugin's alone. */
		for (k = 0; k < N_NUMBERS && (!numbers[k].flag[0] || strcmp(a, numbers[k].flag)); k++)
			;
		if (k < N_NUMBERS) {
			if (whole(k, v, &value[k], why, why_len) < 0)
				return -1;
			given[k] = 1, i++;
		} else if (!strcmp(a, "--timeout") && (d = number(v, PD_MAX_TIMEOUT_SECONDS)) >= 0)
			h->timeout_s = d, i++;
		else if (!strcmp(a, "--slurm-conf") && v && v[0] == '/')
			h->slurm_conf = v, i++;
		else if (!strcmp(a, "--outcome-fd") && (d = number(v, 1 << 20)) >= 1 &&
			 (h->outcome_fd = outcome_fd((int)d)) >= 0)
			i++;
		else if (!strcmp(a, "--list-exports"))
			h->list_exports = 1;
		else if (exec_mode && !strcmp(a, "--no-status"))
			h->no_status = 1;
		else if (exec_mode && !strcmp(a, "--hook") && v)
			h->hook = v, i++;
		else if (exec_mode && !strcmp(a, "--module") && v)
			h->module = v, i++;
		else if (a[0] == '-' || (module && *module) || exec_mode)
			return -1;
		else if (module)
			*module = a;
	}
	h->heap_mb = given[N_HEAP_MB] ? value[N_HEAP_MB] : numbers[N_HEAP_MB].def;
	h->memory_mb = given[N_MEMORY_MB] ? value[N_MEMORY_MB] :
					    h->heap_mb + PD_DEFAULT_MEMORY_HEADROOM_MB;
	h->tasks_max = given[N_TASKS_MAX] ? value[N_TASKS_MAX] : numbers[N_TASKS_MAX].def;
	return 0;
}

/* The hot path; -1 when this line is for src/main.ts. */
static int run_fast(int argc, char **argv)
{
	struct pd_hook h = { .outcome_fd = -1 };
	struct pd_plan plan;
	const char *module = NULL;
	char *refusal = NULL;
	int status, rc;
	char why[256];

	h.hook = hook_for_context(getenv("SLURM_SCRIPT_CONTEXT"));
	h.job_id = getenv("SLURM_JOB_ID");
	if (!h.hook || parse(argc, argv, &h, &module, 0, why, sizeof(why)) < 0 || !module || module[0] != '/' ||
	    strstr(module, "/./") || strstr(module, "/../") || strstr(module, "//") ||
	    access(module, R_OK) < 0)
		return -1;
	h.module = module;
	if (pd_plan_get(module, h.hook, h.slurm_conf, &plan, &status, &refusal) < 0) {
		struct pd_record r;
		int code;

		rc = status ? status : PD_EXIT_SANDBOX;
		if (refusal && !pd_parse_record(refusal, &r, &code) && code == rc)
			pd_end_escaped(&h, "refused", rc, r.cause, r.message);
		else
			pd_end(&h, "refused", rc, "the runner could not plan the hook's launch",
			       "the runner could not plan the hook's launch (status %d)", rc);
		free(refusal);
		return rc;
	}
	h.plan = &plan;
	rc = pd_supervise(&h);
	pd_plan_free(&plan);
	return rc;
}

static int exec_plan(int argc, char **argv)
{
	struct pd_hook h = { .outcome_fd = -1 };
	struct pd_plan plan;
	size_t len;
	char *bytes;
	int rc;
	char why[256] = "";

	h.job_id = getenv("SLURM_JOB_ID");
	if (parse(argc, argv, &h, NULL, 1, why, sizeof(why)) < 0) {
		if (why[0])
			fprintf(stderr, "prep-deno __exec: %s\n", why);
		else
			fprintf(stderr, "prep-deno __exec: bad arguments (this is the runner's own)\n");
		return PD_EXIT_USAGE;
	}
	bytes = pd_read_all(0, &len);
	if (!bytes || pd_plan_decode(bytes, len, &plan) < 0) {
		return pd_end(&h, "refused", PD_EXIT_SANDBOX, "the launch plan on stdin cannot be read",
			      "the launch plan on stdin cannot be read");
	}
	h.plan = &plan;
	rc = pd_supervise(&h);
	pd_plan_free(&plan);
	return rc;
}

/* The -D values, as src/contract.ts names them (EXIT, LAUNCHER, CAUSE_MARKER, REASON_MAX). */
static int print_contract(void)
{
	printf("{\"EXIT\":{\"FAILED\":%d,\"USAGE\":%d,\"TIMEOUT\":%d,"
	       "\"OUT_OF_MEMORY\":%d,\"SANDBOX\":%d,\"NOT_FOUND\":%d},"
	       "\"LAUNCHER\":{\"STATUS_PATH\":\"%s\",\"PLAN_MAGIC\":\"%s\","
	       "\"DEFAULT_HEAP_MB\":%d,\"DEFAULT_MEMORY_HEADROOM_MB\":%d,"
	       "\"MAX_TIMEOUT_SECONDS\":%d,\"RUN_DIR\":\"%s\",\"MAX_SEEDS\":%d,"
	       "\"MAX_FD_BINDS\":%d,"
	       "\"PRIVILEGED_SOCKET\":\"%s\",\"V8_FLAGS_AFTER\":\"%s\",\"HEAP_FLAG\":\"%s\"},"
	       "\"CAUSE_MARKER\":\"%s\",\"REASON_MAX\":%d,"
	       "\"OUTCOME_MAGIC\":\"%s\",\"OUTCOME_MAX\":%d,\"MESSAGE_PREFIX\":\"%s\",\"NUMBERS\":{",
	       PD_EXIT_FAILED, PD_EXIT_USAGE, PD_EXIT_TIMEOUT, PD_EXIT_OUT_OF_MEMORY,
	       PD_EXIT_SANDBOX, PD_EXIT_NOT_FOUND, PD_STATUS_PATH, PD_PLAN_MAGIC,
	       PD_DEFAULT_HEAP_MB, PD_DEFAULT_MEMORY_HEADROOM_MB, PD_MAX_TIMEOUT_SECONDS,
	       PREP_DENO_RUN_DIR, PD_MAX_SEEDS, PD_MAX_FD_BINDS, PD_PRIVILEGED_SOCKET, PD_V8_FLAGS_AFTER,
	       PD_HEAP_FLAG, PD_CAUSE_MARKER, PD_REASON_MAX, PD_OUTCOME_MAGIC, PD_OUTCOME_MAX,
	       PD_MESSAGE_PREFIX);
	for (size_t i = 0; i < N_NUMBERS; i++)
		printf("%s\"%s\":{\"flag\":\"%s\",\"min\":%lld,\"max\":%lld,\"default\":%lld}",
		       i ? "," : "", numbers[i].key, numbers[i].flag, numbers[i].min, numbers[i].max,
		       numbers[i].def);
#define PD_HOOK_JSON(context, hook) "\"" context "\":\"" hook "\","
	/* The last comma is cut by the %.*s. */
	static const char hooks[] = PD_HOOK_CONTEXTS(PD_HOOK_JSON);
#undef PD_HOOK_JSON
	printf("},\"HOOK_CONTEXTS\":{%.*s}}\n", (int)(sizeof(hooks) - 2), hooks);
	return fflush(stdout) ? PD_EXIT_FAILED : 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "__contract"))
		return print_contract();
	if (argc >= 2 && !strcmp(argv[1], "run")) {
		int rc = run_fast(argc - 2, argv + 2);
		if (rc >= 0)
			return rc;
		/* src/main.ts explains this line, and sends its record on. */
		for (int i = 2; i + 1 < argc; i++)
			if (!strcmp(argv[i], "--outcome-fd") && atoi(argv[i + 1]) >= 3)
				fcntl(atoi(argv[i + 1]), F_SETFD, 0);
	}
	if (argc >= 2 && !strcmp(argv[1], "__exec"))
		return exec_plan(argc - 2, argv + 2);
	exec_deno_main(argc, argv);
	return PD_EXIT_SANDBOX;
}
