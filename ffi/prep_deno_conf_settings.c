// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The settings line at start-up and the PrEpParameters change detector
 * (see prep_deno_conf_settings.h).
 */
#include "prep_deno_conf_settings.h"

#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "prep_deno_conf.h"

#include "src/common/run_in_daemon.h"
#include "src/common/xmalloc.h"
#include "src/common/xstring.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
/* PrEpParameters as init() parsed it ("" when unset), and the last
 * different value already logged. */
static char *parsed;
static char *reported;

static const char *drain_name(int d)
{
	return d == PD_DRAIN_NO ? "no" : d == PD_DRAIN_ALL ? "all" : "yes";
}

static const char *bwrap_found(void)
{
	static const char *const paths[] = { PD_BWRAP_PATHS };

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (access(paths[i], X_OK) == 0)
			return paths[i];
	return NULL;
}

/* "N modules readable" or the first that is not (each is also named by
 * pd_conf_report()). */
static void hooks_note(bool ctld, char **out)
{
	pd_hook_t hooks[2] = { ctld ? PD_PROLOG_SLURMCTLD : PD_PROLOG,
			       ctld ? PD_EPILOG_SLURMCTLD : PD_EPILOG };
	int readable = 0, unreadable = 0;

	for (int h = 0; h < 2; h++) {
		char *const *values;
		int n = pd_conf_values(hooks[h], &values);

		for (int i = 0; i < n; i++) {
			if (!values[i] || !pdc_is_module(values[i]))
				continue;
			/* A glob (Prolog=/etc/slurm/prolog.d/ *.ts) is
			 * expanded per job; only a plain path is checked. */
			if (strpbrk(values[i], "*?["))
				continue;
			if (access(values[i], R_OK) == 0)
				readable++;
			else
				unreadable++;
		}
	}
	xstrfmtcat(*out, "modules: %d readable", readable);
	if (unreadable)
		xstrfmtcat(*out, ", %d NOT READABLE", unreadable);
}

void pd_settings_log(bool ctld)
{
	const char *bwrap = bwrap_found();
	bool runner_ok = access(prep_deno_params.runner, X_OK) == 0;
	char *checks = NULL;

	xstrfmtcat(checks, "runner %s, bubblewrap %s, ",
		   runner_ok ? "ok" : "NOT EXECUTABLE",
		   bwrap ? bwrap : "NOT INSTALLED");
	hooks_note(ctld, &checks);
	if (runner_ok && bwrap && !strstr(checks, "NOT"))
		info("prep/deno: settings: runner=%s mode=%s%s%s heap_mb=%d "
		     "memory_mb=%d drain_reason=%s; checks: %s",
		     prep_deno_params.runner,
		     prep_deno_params.warm ? "warm" : "spawn",
		     prep_deno_params.warm ? " socket=" : "",
		     prep_deno_params.warm ? prep_deno_params.socket : "",
		     prep_deno_params.heap_mb, prep_deno_params.memory_mb,
		     drain_name(prep_deno_params.drain_reason), checks);
	else
		error("prep/deno: settings: runner=%s mode=%s%s%s heap_mb=%d "
		      "memory_mb=%d drain_reason=%s; checks: %s (TypeScript "
		      "hooks fail until this is fixed; prep-deno check "
		      "--slurm-conf says how)",
		      prep_deno_params.runner,
		      prep_deno_params.warm ? "warm" : "spawn",
		      prep_deno_params.warm ? " socket=" : "",
		      prep_deno_params.warm ? prep_deno_params.socket : "",
		      prep_deno_params.heap_mb, prep_deno_params.memory_mb,
		      drain_name(prep_deno_params.drain_reason), checks);
	xfree(checks);
	slurm_mutex_lock(&lock);
	xfree(parsed);
	xfree(reported);
	parsed = xstrdup(slurm_conf.prep_params ? slurm_conf.prep_params : "");
	slurm_mutex_unlock(&lock);
}

void pd_settings_check_changed(void)
{
	const char *now = slurm_conf.prep_params ? slurm_conf.prep_params : "";

	slurm_mutex_lock(&lock);
	if (parsed && xstrcmp(now, parsed) && xstrcmp(now, reported)) {
		xfree(reported);
		reported = xstrdup(now);
		error("prep/deno: PrEpParameters changed to \"%s\", but this "
		      "daemon keeps the plugin's settings from \"%s\" (Slurm "
		      "re-initializes PrEp plugins on reconfigure only when "
		      "PrEpPlugins changes): restart %s to apply",
		      now, parsed,
		      running_in_slurmctld() ? "slurmctld" : "slurmd");
	}
	slurm_mutex_unlock(&lock);
}

void pd_settings_free(void)
{
	slurm_mutex_lock(&lock);
	xfree(parsed);
	xfree(reported);
	slurm_mutex_unlock(&lock);
}
