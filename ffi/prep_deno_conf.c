// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Shared by both sides: PrEpParameters, the hook values and timeouts of
 * slurm.conf (the release differences of their shape), and the log lines.
 */
#include "prep_deno_conf.h"
#include "prep_deno_observe.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "src/common/xmalloc.h"
#include "src/common/xstring.h"

prep_deno_params_t prep_deno_params;

const char *pd_hook_key(pd_hook_t hook)
{
	static const char *const keys[] = { "Prolog", "Epilog",
					    "PrologSlurmctld",
					    "EpilogSlurmctld" };
	return keys[hook];
}

static bool yes_no_all(const char *v, int *out)
{
	if (!xstrcasecmp(v, "yes") || !xstrcasecmp(v, "modules"))
		*out = PD_DRAIN_MODULES;
	else if (!xstrcasecmp(v, "no"))
		*out = PD_DRAIN_NO;
	else if (!xstrcasecmp(v, "all"))
		*out = PD_DRAIN_ALL;
	else
		return false;
	return true;
}

/* Each number of PD_NUMBERS by its place in the table. */
enum {
#define PD_NUMBER_INDEX(suffix, key, flag, min, max, def) NUMBER_##suffix,
	PD_NUMBERS(PD_NUMBER_INDEX)
#undef PD_NUMBER_INDEX
	NUMBER_N
};

/* Where a number goes once checked (pd_conf_free resets them all). */
static void set_number(int which, long long v)
{
	switch (which) {
	case NUMBER_HEAP_MB: prep_deno_params.heap_mb = (int)v; break;
	case NUMBER_MEMORY_MB: prep_deno_params.memory_mb = (int)v; break;
	case NUMBER_TASKS_MAX: prep_deno_params.tasks_max = (int)v; break;
	case NUMBER_JOURNAL_MAX_MB: pdc_observe.journal_max_bytes = v << 20; break;
	case NUMBER_JOURNAL_MAX_DAYS: pdc_observe.journal_max_days = (int)v; break;
	case NUMBER_JOURNAL_OUTPUT_KB:
		pdc_observe.journal_output_max = (size_t)v << 10;
		break;
	}
}

/*
 * A numeric key of PD_NUMBERS (`heap_mb=N`, `journal_max_mb=N`): 1 when
 * `tok` is one (its value checked by the core's pdc_number_check, logged
 * when bad: *bad set, and the plugin refuses to start), else 0.
 */
static int number_param(const char *tok, bool *bad)
{
	static const char *const keys[NUMBER_N] = {
#define PD_NUMBER_KEY(suffix, key, flag, min, max, def) key,
		PD_NUMBERS(PD_NUMBER_KEY)
#undef PD_NUMBER_KEY
	};
	const char *eq = strchr(tok, '=');
	char key[32], why[256];
	long long v;

	if (!eq || (size_t)(eq - tok) >= sizeof(key))
		return 0;
	snprintf(key, sizeof(key), "%.*s", (int)(eq - tok), tok);
	for (int i = 0; i < NUMBER_N; i++) {
		if (xstrcasecmp(key, keys[i]))
			continue;
		if (pdc_number_check(keys[i], eq + 1, &v, why, sizeof(why)) < 0) {
			error("prep/deno: PrEpParameters: %s", why);
			*bad = true;
		} else {
			set_number(i, v);
		}
		return 1;
	}
	return 0;
}

static void set_path(char **slot, const char *v)
{
	free(*slot);
	*slot = strdup(v);
}

/* The observe paths (journal, metrics); false if `tok` is neither. */
static bool observe_key(const char *tok)
{
	if (!xstrncasecmp(tok, "journal=", 8))
		set_path(&pdc_observe.journal, tok + 8);
	else if (!xstrncasecmp(tok, "metrics=", 8))
		set_path(&pdc_observe.metrics, tok + 8);
	else
		return false;
	return true;
}

/* PrEpParameters=runner=/path,heap_mb=N,memory_mb=N,tasks_max=N,mode=spawn|warm,
 * socket=/path,drain_reason=yes|no|all, journal=PATH|no, journal_max_mb=N,
 * journal_max_days=N, journal_output_kb=N, metrics=PATH */
int pd_conf_parse(void)
{
	char *copy, *tok, *save = NULL;
	bool bad = false;

	pd_conf_free();
	prep_deno_params.runner = xstrdup(PD_DEFAULT_RUNNER);
	prep_deno_params.socket = xstrdup(PD_DEFAULT_SOCKET);
	prep_deno_params.heap_mb = 0;
	prep_deno_params.memory_mb = 0;
	prep_deno_params.tasks_max = 0;
	prep_deno_params.warm = false;
	prep_deno_params.drain_reason = PD_DRAIN_MODULES;
	if (!slurm_conf.prep_params)
		return 0;
	copy = xstrdup(slurm_conf.prep_params);
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (!xstrncasecmp(tok, "runner=", 7)) {
			xfree(prep_deno_params.runner);
			prep_deno_params.runner = xstrdup(tok + 7);
		} else if (number_param(tok, &bad)) {
			continue;
		} else if (!xstrcasecmp(tok, "mode=warm")) {
			prep_deno_params.warm = true;
		} else if (!xstrcasecmp(tok, "mode=spawn")) {
			prep_deno_params.warm = false;
		} else if (!xstrncasecmp(tok, "socket=", 7)) {
			xfree(prep_deno_params.socket);
			prep_deno_params.socket = xstrdup(tok + 7);
		} else if (!xstrncasecmp(tok, "drain_reason=", 13) &&
			   yes_no_all(tok + 13, &prep_deno_params.drain_reason)) {
			continue;
		} else if (observe_key(tok)) {
			continue;
		} else {
			error("prep/deno: PrEpParameters: unknown \"%s\" (known: "
			      "runner=PATH, heap_mb=MIB, memory_mb=MIB, tasks_max=N, "
			      "mode=spawn|warm, "
			      "socket=PATH, drain_reason=yes|no|all, journal=PATH|no, "
			      "journal_max_mb=N, journal_max_days=N, "
			      "journal_output_kb=N, metrics=PATH)", tok);
		}
	}
	xfree(copy);
	return bad ? -1 : 0;
}

void pd_conf_free(void)
{
	free(pdc_observe.journal);
	free(pdc_observe.metrics);
	pdc_observe.journal = pdc_observe.metrics = NULL;
	pdc_observe.journal_max_bytes = (long long)PD_JOURNAL_MAX_MB << 20;
	pdc_observe.journal_max_days = PD_JOURNAL_MAX_DAYS;
	pdc_observe.journal_output_max = PD_JOURNAL_OUTPUT_KB << 10;
	xfree(prep_deno_params.runner);
	xfree(prep_deno_params.socket);
}

int pd_conf_values(pd_hook_t hook, char *const **values)
{
#if PD_HAVE_HOOK_ARRAYS
	switch (hook) {
	case PD_PROLOG:
		*values = slurm_conf.prolog;
		return slurm_conf.prolog_cnt;
	case PD_EPILOG:
		*values = slurm_conf.epilog;
		return slurm_conf.epilog_cnt;
	case PD_PROLOG_SLURMCTLD:
		*values = slurm_conf.prolog_slurmctld;
		return slurm_conf.prolog_slurmctld_cnt;
	default:
		*values = slurm_conf.epilog_slurmctld;
		return slurm_conf.epilog_slurmctld_cnt;
	}
#else
	char *const *one;

	switch (hook) {
	case PD_PROLOG:
		one = &slurm_conf.prolog;
		break;
	case PD_EPILOG:
		one = &slurm_conf.epilog;
		break;
	case PD_PROLOG_SLURMCTLD:
		one = &slurm_conf.prolog_slurmctld;
		break;
	default:
		one = &slurm_conf.epilog_slurmctld;
		break;
	}
	*values = one;
	return *one ? 1 : 0;
#endif
}

int pd_conf_timeout(pd_hook_t hook)
{
#if PD_HAVE_SPLIT_TIMEOUTS
	uint16_t t = (hook == PD_PROLOG || hook == PD_PROLOG_SLURMCTLD) ?
		slurm_conf.prolog_timeout : slurm_conf.epilog_timeout;
#else
	uint16_t t = slurm_conf.prolog_epilog_timeout;

	(void)hook;
#endif
	return (t == NO_VAL16 || t == 0) ? -1 : (int)t;
}

pdc_config_t pd_core_config(pd_hook_t hook)
{
	pdc_config_t cfg = {
		.runner = prep_deno_params.runner,
		.timeout_s = pd_conf_timeout(hook),
		.heap_mb = prep_deno_params.heap_mb,
		.memory_mb = prep_deno_params.memory_mb,
		.tasks_max = prep_deno_params.tasks_max,
		.warm_socket = prep_deno_params.warm ? prep_deno_params.socket :
						       NULL,
		/* As prep/script's scripts start: through Slurm's script
		 * launcher from 24.05.5; before, slurmd's thread or
		 * slurmscriptd's. */
		.signals = PD_HAVE_SCRIPT_LAUNCHER ? PDC_SIGNALS_NONE :
			   (hook == PD_PROLOG || hook == PD_EPILOG) ?
						     PDC_SIGNALS_INHERIT :
						     PDC_SIGNALS_SCRIPTD,
	};
	return cfg;
}

void pd_conf_report(pd_hook_t hook)
{
	char *const *values;
	int n = pd_conf_values(hook, &values);

	for (int i = 0; i < n; i++) {
		const char *v = values[i];

		if (!v)
			continue;
		if (!pdc_is_module(v)) {
			verbose("prep/deno: %s=%s runs as a script", pd_hook_key(hook), v);
			continue;
		}
		if (access(v, R_OK) < 0)
			error("prep/deno: %s=%s: cannot read the module: %m; "
			      "the hook will fail until it exists",
			      pd_hook_key(hook), v);
		else
			info("prep/deno: %s=%s runs through %s", pd_hook_key(hook),
			     v, prep_deno_params.runner);
	}
}

/*
 * "Not answering" once per outage: the first hook passed over says why,
 * the others are counted, and the first hook the service runs again says
 * how many took the spawn path meanwhile.
 */
static pthread_mutex_t outage_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long outage_hooks;

void pd_log_fallback(uint32_t job_id, const pdc_outcome_t *out)
{
	unsigned long n = 0;
	bool first = false;

	if (!prep_deno_params.warm || !out->mode)
		return; /* a script, or no service to miss */
	pthread_mutex_lock(&outage_lock);
	if (out->fallback)
		first = outage_hooks++ == 0;
	else if (out->mode == PDC_MODE_WARM && outage_hooks) {
		n = outage_hooks;
		outage_hooks = 0;
	}
	pthread_mutex_unlock(&outage_lock);
	if (first)
		error("prep/deno: [job %u] warm service at %s not answering (%s); "
		      "the hook ran through the spawn path, as will the next ones "
		      "until it answers", job_id, prep_deno_params.socket,
		      out->fallback);
	else if (n)
		info("prep/deno: [job %u] warm service at %s answering again; %lu "
		     "hook(s) ran through the spawn path meanwhile", job_id,
		     prep_deno_params.socket, n);
}

void pd_log_run(const char *hook, uint32_t job_id, const char *path,
		const pdc_outcome_t *out)
{
	static const char *const modes[] = { "script", "spawn", "warm" };
	char kindbuf[32];
	const char *kind = pdc_cause_kind(out, kindbuf, sizeof(kindbuf));
	char *cause = pdc_cause_text(out);
	const char *file = strrchr(path, '/');

	info("prep/deno: %s %s job %u: %s%s%s in %d ms (%s)", hook,
	     file ? file + 1 : path, job_id, kind, cause ? ": " : "",
	     cause ? cause : "", out->duration_ms,
	     modes[out->mode >= 0 && out->mode <= 2 ? out->mode : 0]);
	free(cause);
}

/*
 * A TypeScript hook's output (already escaped by the core) as one log line:
 * its newlines as \n, so no line of it stands alone in the log where it
 * could pass for the runner's. xfree it.
 */
static char *one_line(const char *output);
static void log_record(const char *record);

char *pd_output_for_log(const pdc_outcome_t *out)
{
	return out->record ? one_line(out->output) : xstrdup(out->output);
}

static char *one_line(const char *output)
{
	char *flat = NULL;

	for (const char *p = output; *p; p++) {
		if (*p == '\n')
			xstrcat(flat, "\\n");
		else
			xstrncat(flat, p, 1);
	}
	return flat ? flat : xstrdup("");
}

/*
 * The runner's own line, from the outcome record (fields: magic kind status
 * hook module job cause message, tab-separated, printable): after the
 * hook's output, in a log line of its own that output cannot make.
 */
void pd_log_record(const pdc_outcome_t *out)
{
	if (out->record && out->status)
		log_record(out->record);
}

static void log_record(const char *record)
{
	char *copy = xstrdup(record), *save = NULL, *f[8] = { 0 };
	int n = 0;

	for (char *t = strtok_r(copy, "\t", &save); t && n < 8;
	     t = strtok_r(NULL, "\t", &save))
		f[n++] = t;
	/* strtok_r skips empty fields: a record without cause has 7. */
	if (n == 8 || n == 7)
		error(PD_MESSAGE_PREFIX " %s", f[3], f[4], f[5], f[n - 1]);
	xfree(copy);
}

/*
 * As prep/script's _run_subpath_command and run_command: the timeout line
 * first (also when the hook had exited 0 and only a child held its
 * output), then one line for the status; for a TypeScript hook its output
 * on one line, then the runner's line from the outcome record.
 */
void pd_log_outcome(const char *what, uint32_t job_id, int timeout_s,
		    const pdc_outcome_t *out)
{
	if (out->record) {
		pdc_outcome_t flat = *out;

		flat.output = one_line(out->output);
		flat.record = NULL;
		pd_log_outcome(what, job_id, timeout_s, &flat);
		xfree(flat.output);
		if (out->status)
			log_record(out->record);
		return;
	}
	pd_log_fallback(job_id, out);
	if (out->timed_out)
		error(PD_RUN_COMMAND_FN ": %s poll timeout @ %d msec", what,
		      timeout_s * 1000);
	if (!out->status)
		debug2("prep/deno: %s success rc:0 output:%s", what, out->output);
	else if (WIFEXITED(out->status))
		error("%s failed: rc:%u output:%s", what,
		      WEXITSTATUS(out->status), out->output);
	else if (WIFSIGNALED(out->status))
		error("%s killed by signal %u output:%s", what,
		      WTERMSIG(out->status), out->output);
	else
		error("%s didn't run: status:%d reason:%s", what, out->status,
		      out->output);
}
