// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prep/deno, slurmd side: Prolog and Epilog, as prep/script's slurmd side
 * runs them: SPANK job prolog/epilog first, then each configured pattern
 * expanded as a glob and run in REVERSE glob order (prep/script pushes each
 * match onto the front of its list; several lines, 24.05+, are joined in
 * line order, each reversed on its own), stopping at the first failure. A
 * pattern that matches nothing fails the call.
 */
#include "prep_deno_slurmd.h"

#include <glob.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "src/common/env.h"
#include "src/common/xmalloc.h"
#include "src/common/xstring.h"
#include "src/slurmd/slurmd/req.h"
#include "src/slurmd/slurmd/slurmd.h"

#if PD_HAVE_INTERFACES_DIR
#include "src/common/spank.h"
#else
#include "src/common/plugstack.h"
#endif

/* slurmd's own `conf` wins over this definition when loaded into slurmd;
 * outside slurmd (the FFI binding) it stays NULL. */
slurmd_conf_t *conf = NULL;

/*
 * 23.02.5+: a relative value is relative to slurm.conf's folder. slurmd
 * resolves it itself before the plugin sees it; this does the same for
 * the plugin outside slurmd. Earlier releases glob it as given.
 */
static char *resolve_value(const char *value)
{
#if PD_HAVE_RELATIVE_HOOK_PATHS
	if (value[0] != '/' && conf && conf->conffile) {
		char *copy = xstrdup(conf->conffile), *path = NULL;

		xstrfmtcat(path, "%s/%s", dirname(copy), value);
		xfree(copy);
		return path;
	}
#endif
	return xstrdup(value);
}

/* As prep/script's glob error function: say which folder, go on. */
static int glob_error(const char *epath, int eerrno)
{
	error("prep_deno_slurmd: glob: %s: %s", epath, strerror(eerrno));
	return 0;
}

/* Each configured value expanded as a glob, in prep/script's order; xfree
 * each. A value matching nothing sets *ok false, as in prep/script. */
static char **expand_paths(pd_hook_t hook, uint32_t job_id, size_t *n_out,
			   bool *ok)
{
	const char *name = hook == PD_EPILOG ? "epilog" : "prolog";
	char *const *values;
	int n = pd_conf_values(hook, &values);
	char **paths = NULL;
	size_t n_paths = 0;

	for (int i = 0; i < n; i++) {
		char *pattern = resolve_value(values[i]);
		glob_t gl;
		int rc = glob(pattern, GLOB_ERR, glob_error, &gl);

		if (rc == 0) {
			xrealloc(paths, (n_paths + gl.gl_pathc) * sizeof(char *));
			for (size_t j = gl.gl_pathc; j > 0; j--)
				paths[n_paths++] = xstrdup(gl.gl_pathv[j - 1]);
		} else {
			error("%s: Unable to create list of paths [%s]", name,
			      pattern);
			pd_drain_missing(name, job_id, pattern);
			*ok = false;
		}
		globfree(&gl);
		xfree(pattern);
		if (!*ok)
			break;
	}
	*n_out = n_paths;
	return paths;
}

#if PD_HAVE_CONTAINER_JOIN
/* In the child, before exec: the job's container, as run_command did. */
static void join_container(void *arg)
{
	job_env_t *je = arg;

	if (je->container_join)
		(void)je->container_join(PD_JOB_ENV_JOB_ID(je), getuid());
}
#endif

/* `slurmstepd spank prolog|epilog`, fed the slurmd config on stdin. */
static int run_spank(const char *mode, char **env, uint32_t job_id,
		     int timeout_s)
{
	char *argv[] = { conf->stepd_loc, "spank", (char *)mode, NULL };
	int pfd[2], status = 0;
	pid_t pid;

	if (pipe(pfd) < 0)
		return error("prep/deno: spank %s: pipe: %m", mode);
	if ((pid = fork()) < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return error("prep/deno: spank %s: fork: %m", mode);
	}
	if (pid == 0) {
		dup2(pfd[0], STDIN_FILENO);
		close(pfd[0]);
		close(pfd[1]);
		setpgid(0, 0);
		execve(argv[0], argv, env);
		_exit(127);
	}
	close(pfd[0]);
	if (send_slurmd_conf_lite(pfd[1], conf) < 0)
		error("prep/deno: spank %s: cannot send the slurmd config", mode);
	close(pfd[1]);
	for (int waited = 0;; waited += 50) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			break;
		if (timeout_s >= 0 && waited >= timeout_s * 1000) {
			error("[job %u] spank/%s timed out: killing pgid %d",
			      job_id, mode, pid);
			killpg(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return SLURM_ERROR;
		}
		usleep(50000);
	}
	if (status)
		error("spank/%s returned status 0x%04x", mode, status);
	spank_clear_remote_options_env(env);
	return status;
}

/* What each_hook needs to log a hook in prep/script's words. */
typedef struct {
	const char *what;
	uint32_t job_id;
	int timeout_s;
} log_ctx_t;

static void each_hook(void *arg, uint32_t job_id, const char *path,
		      const pdc_outcome_t *one)
{
	const log_ctx_t *ctx = arg;

	(void)job_id;
	pd_log_outcome(ctx->what, ctx->job_id, ctx->timeout_s, one);
	pd_log_run(ctx->what, ctx->job_id, path, one);
}

int prep_deno_slurmd(void *job_env, void *cred, bool is_epilog)
{
	job_env_t *je = job_env;
	pd_hook_t hook = is_epilog ? PD_EPILOG : PD_PROLOG;
	const char *name = is_epilog ? "epilog" : "prolog";
	pdc_config_t cfg = pd_core_config(hook);
	log_ctx_t log_ctx = { name, PD_JOB_ENV_JOB_ID(je), cfg.timeout_s };
	char **env = NULL, **paths;
	size_t n_paths = 0;
	int rc = SLURM_SUCCESS;
	bool paths_ok = true;

	/* As prep/script: both SPANK and the hooks run, the hooks' status wins. */
	if (is_epilog ? spank_has_epilog() : spank_has_prolog()) {
		env = pd_slurmd_build_env(je, cred, is_epilog);
		rc = run_spank(name, env, PD_JOB_ENV_JOB_ID(je), cfg.timeout_s);
	}
	paths = expand_paths(hook, PD_JOB_ENV_JOB_ID(je), &n_paths, &paths_ok);
	cfg.each = each_hook;
	cfg.each_arg = &log_ctx;
	/* The file slurmd read: its -f, or in configless mode its cache's. */
	cfg.slurm_conf = conf ? conf->conffile : NULL;
	if (!paths_ok) {
		rc = SLURM_ERROR;
	} else if (n_paths) {
		pdc_outcome_t out;

		if (!env)
			env = pd_slurmd_build_env(je, cred, is_epilog);
#if PD_HAVE_CONTAINER_JOIN
		pdc_run_hooks(&cfg, (const char *const *)paths, n_paths, env,
			      join_container, je, &out);
#else
		pdc_run_hooks(&cfg, (const char *const *)paths, n_paths, env,
			      NULL, NULL, &out);
#endif
		if (out.status) {
			rc = out.status;
			pd_drain_with_reason(name, PD_JOB_ENV_JOB_ID(je), &out);
		}
		pdc_outcome_free(&out);
	}
	for (size_t i = 0; i < n_paths; i++)
		xfree(paths[i]);
	xfree(paths);
	env_array_free(env);
	return rc;
}
