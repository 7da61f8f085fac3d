// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The plain C core of prep/deno: runs a hook list the way Slurm's
 * run_command() runs a script, synchronously (slurmd) or on a thread of its
 * own with exactly one completion call (slurmctld). No Slurm header is
 * needed, so it is bound and tested through Deno.dlopen without daemons.
 */
#ifndef PREP_DENO_CORE_H
#define PREP_DENO_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "prep_deno_contract.h"

/* How a hook list ended: the first failure, or the last success. */
typedef struct {
	int status;        /* wait(2) status, or 127 when it could not run */
	int timed_out;     /* killed at the timeout (or the runner's own 124) */
	char *output;      /* stdout+stderr, NUL-terminated, malloc'd */
	char *failed_path; /* the hook that failed, malloc'd; NULL if none */
	char *fallback;    /* why the warm service was passed over, or NULL */
	/*
	 * A module hook's outcome record (src/outcome/outcome_record.ts), one line,
	 * printable: from the launcher's --outcome-fd or the warm reply's own
	 * field, never from the output; NULL if none came.
	 */
	char *record;
	long long started_ms; /* when the hook started, ms since the epoch */
	int duration_ms;   /* how long it ran */
	int mode;          /* PDC_MODE_* (prep_deno_observe.h) */
} pdc_outcome_t;

/* Called after each hook of a list with its own outcome (e.g. to log it). */
typedef void (*pdc_each_fn)(void *arg, uint32_t job_id, const char *path,
			    const pdc_outcome_t *one);

/* How hooks run. */
typedef struct {
	const char *runner; /* prep-deno, for .ts/.mts/.js hooks */
	int timeout_s;      /* PrologEpilogTimeout; < 0: none */
	int heap_mb;        /* runner --heap-mb; 0: the runner's default */
	const char *warm_socket; /* mode=warm: the service; NULL: spawn */
	pdc_each_fn each;   /* or NULL */
	void *each_arg;
	int concurrent;     /* async lists: all hooks at once (24.05+ ctld) */
	uint32_t job_id;    /* for `each`; set by pdc_run_hooks_async */
	uint32_t kill_tag;  /* non-zero: pdc_kill_tagged(job_id, tag) stops it */
	int memory_mb;      /* runner --memory-mb; 0: the runner's default */
	int signals;        /* PDC_SIGNALS_*: the mask children start with */
	int tasks_max;      /* runner --tasks-max; 0: the runner's default */
	/* The slurm.conf the daemon itself reads (slurmd's conffile, its
	 * configless cache included; slurmctld's -f): runner --slurm-conf,
	 * and the warm request's slurmConf field (PD_WARM_FIELDS): never an
	 * environment variable, so it reaches no hook that did not ask. */
	const char *slurm_conf;
} pdc_config_t;

/* The signal mask a hook starts with. */
enum {
	PDC_SIGNALS_INHERIT, /* the calling thread's (slurmd up to 24.05.4) */
	PDC_SIGNALS_NONE,    /* nothing blocked (Slurm's script launcher) */
	PDC_SIGNALS_SCRIPTD, /* slurmscriptd's threads' (up to 24.05.4): HUP INT
			      * QUIT ABRT USR1 USR2 PIPE ALRM TERM TSTP XCPU */
};

/* Runs in the child before exec (e.g. container_g_join); async-signal-safe. */
typedef void (*pdc_child_fn)(void *arg);

/* Called exactly once per pdc_run_hooks_async(), from the core's thread. */
typedef void (*pdc_done_fn)(void *arg, uint32_t job_id,
			    const pdc_outcome_t *outcome);

/* 1 when `path` is run through the runner (.ts, .mts, .js), else 0. */
extern int pdc_is_module(const char *path);

/*
 * The executable and argv for one hook; argv is NULL-terminated and, like
 * its strings, malloc'd (free with pdc_free_argv). Returns the executable
 * (argv[0] for scripts, the runner for modules).
 */
extern char **pdc_hook_argv(const pdc_config_t *cfg, const char *path);
extern void pdc_free_argv(char **argv);

/* Runs `paths` in order, stopping at the first failure. Returns the status. */
extern int pdc_run_hooks(const pdc_config_t *cfg, const char *const *paths,
			 size_t n_paths, char *const *envp,
			 pdc_child_fn child, void *child_arg,
			 pdc_outcome_t *out);

/*
 * The same on a detached thread of the core's, on deep copies of every
 * argument: returns at once. `done` is called exactly once, also when the
 * thread cannot start (then before this returns). Returns 0, or -1 when
 * `done` was called inline.
 */
extern int pdc_run_hooks_async(const pdc_config_t *cfg,
			       const char *const *paths, size_t n_paths,
			       char *const *envp, uint32_t job_id,
			       pdc_done_fn done, void *done_arg);

extern void pdc_outcome_free(pdc_outcome_t *out);

/*
 * What Prolog/Epilog get to know of a job, as plain strings, in the order
 * prep/script's slurmd side sets them. NULL means "not set"; the Slurm glue
 * decides, per version, what is set (and passes "(null)" where prep/script
 * would print a NULL with %s).
 */
#define PDC_CRED_ENUM(suffix, name) PDC_CRED_##suffix,
enum { PD_CRED_VARS(PDC_CRED_ENUM) PDC_CRED_N };
#undef PDC_CRED_ENUM

typedef struct {
	const char *const *spank_env; /* "K=V" list merged first, or NULL */
	const char *const *gres_env;  /* "K=V" list merged next, or NULL */
	const char *node_name;
	const char *conf_file;
	const char *cluster_name;
	const char *job_id;
	const char *sluid;        /* 25.11+: SLURM_JOB_SLUID, if the job has one */
	const char *uid;
	const char *gid;
	const char *work_dir;
	const char *user_name;    /* up to 23.11: set right after work_dir */
	const char *het_job_id;
	const char *node_aliases; /* up to 23.02, when set */
	const char *node_list;
	const char *job_nodelist; /* 24.05+: also SLURM_JOB_NODELIST */
	const char *partition;
	const char *context;      /* prolog_slurmd or epilog_slurmd */
	const char *exit_code;    /* epilogs: the raw wait status */
	const char *derived_ec;
	const char *cred[PDC_CRED_N];
	const char *late_user_name; /* 24.05+: set last */
} pdc_slurmd_job_t;

/* The environment of Prolog/Epilog for `job`; free with pdc_free_argv. */
extern char **pdc_slurmd_env(const pdc_slurmd_job_t *job);

/*
 * Runs one module hook through the warm service at `socket_path`, planned
 * with `slurm_conf` (the daemon's own, or NULL) as the spawn path's
 * `run --slurm-conf`. Returns 0
 * with *status (a wait status) and *output (malloc'd) when it answered in
 * time, or -1 with *why (malloc'd) when it did not: then nothing ran there
 * or the service went away mid-hook, and the caller takes the spawn path.
 */
extern int pdc_warm_run(const char *socket_path, const char *path,
			int timeout_s, const char *slurm_conf,
			char *const *envp, int *status,
			char **output, char **record, char **why);

/*
 * `n` bytes of a hook's output as one printable C string (malloc'd): every
 * byte below 0x20 but newline and tab, and DEL, as \xNN, so a NUL cannot
 * cut the log nor an escape sequence or a carriage return hide a line.
 */
extern char *pdc_escape_output(const char *p, size_t n);

/* SIGKILLs the running hooks of lists with this job id and kill_tag.
 * Returns how many process groups it signalled. */
extern int pdc_kill_tagged(uint32_t job_id, uint32_t kill_tag);

/* Hook lists running on core threads right now. */
extern int pdc_inflight(void);

/* Kills every running hook's process group and waits up to `wait_ms` for
 * the threads to finish (they still call `done`). Returns those left. */
extern int pdc_shutdown(int wait_ms);

/* The CLOCK_REALTIME time `wait_ms` from now, for pthread_cond_timedwait. */
extern void pdc_deadline(struct timespec *until, int wait_ms);

#endif
