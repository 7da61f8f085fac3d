// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The settings line at start-up and the PrEpParameters change detector
 * (see prep_deno_conf_settings.h).
 */
#include "prep_deno_conf_settings.h"

#include <ctype.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
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

/* The most of a module read to look for its export: hooks are small. */
#define EXPORT_SCAN_MAX (4 * 1024 * 1024)

/*
 * Whether the module's text exports what its hook's line needs: the hook's
 * own name (its slurm.conf key with a small first letter) or a default
 * export. A look at the text, not an import (nothing of the hook
 * runs inside the daemon): `prep-deno check --slurm-conf` type-checks it.
 * -1 when the file cannot be read (counted as not readable already).
 */
static int exports_hook(const char *path, pd_hook_t hook)
{
	const char *key = pd_hook_key(hook);
	char name[32], *text, *pattern = NULL;
	const char *id = "([^A-Za-z0-9_$]|$)";
	regex_t re;
	size_t len;
	struct stat st;
	FILE *f;
	int fd, found;

	snprintf(name, sizeof(name), "%c%s", tolower((unsigned char)key[0]),
		 key + 1);
	/* Never blocks start-up: a FIFO or device named as a hook is not read. */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !(f = fdopen(fd, "r"))) {
		close(fd);
		return -1;
	}
	text = xmalloc(EXPORT_SCAN_MAX + 1);
	len = fread(text, 1, EXPORT_SCAN_MAX, f);
	fclose(f);
	text[len] = '\0';
	xstrfmtcat(pattern,
		   "export[[:space:]]+(default[^A-Za-z0-9_$]|(async[[:space:]]+)?"
		   "function[[:space:]]*[*]?[[:space:]]*%s%s|(const|let|var)"
		   "[[:space:]]+%s%s)|export[[:space:]]*[{][^}]*"
		   "(^|[^A-Za-z0-9_$])%s%s",
		   name, id, name, id, name, id);
	if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB)) {
		found = 1; /* cannot judge: say nothing */
	} else {
		found = regexec(&re, text, 0, NULL, 0) == 0;
		regfree(&re);
	}
	xfree(pattern);
	xfree(text);
	return found;
}

/* "modules: N readable", then any not readable, and the first that does not
 * export what its line needs (each is also named by pd_conf_report()). */
static void hooks_note(bool ctld, char **out)
{
	pd_hook_t hooks[2] = { ctld ? PD_PROLOG_SLURMCTLD : PD_PROLOG,
			       ctld ? PD_EPILOG_SLURMCTLD : PD_EPILOG };
	int readable = 0, unreadable = 0, unexported = 0;
	char *first = NULL;

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
			if (access(values[i], R_OK) != 0) {
				unreadable++;
				continue;
			}
			readable++;
			if (exports_hook(values[i], hooks[h]) == 0 && !unexported++)
				xstrfmtcat(first, "%s=%s exports no %c%s and no default",
					   pd_hook_key(hooks[h]), values[i],
					   tolower((unsigned char)pd_hook_key(hooks[h])[0]),
					   pd_hook_key(hooks[h]) + 1);
		}
	}
	xstrfmtcat(*out, "modules: %d readable", readable);
	if (unreadable)
		xstrfmtcat(*out, ", %d NOT READABLE", unreadable);
	if (unexported)
		xstrfmtcat(*out, ", %d NOT EXPORTING what its line needs (%s)", unexported,
			   first);
	xfree(first);
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
