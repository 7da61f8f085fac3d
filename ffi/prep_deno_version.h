// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Every difference between the Slurm releases prep/deno builds against
 * (22.05 through 26.05), by name. No other file compares
 * SLURM_VERSION_NUMBER: code says `#if PD_HAVE_X`, and this file says since
 * when X holds (spec: prep-script-spec.md, Appendix A).
 */
#ifndef PREP_DENO_VERSION_H
#define PREP_DENO_VERSION_H

#include "config.h"

#include "slurm/slurm.h"

#define PD_SINCE(a, b, c) (SLURM_VERSION_NUMBER >= SLURM_VERSION_NUM(a, b, c))

/* 23.02: prep.h, cred.h and spank.h moved (src/interfaces/, spank.h). */
#define PD_HAVE_INTERFACES_DIR PD_SINCE(23, 2, 0)

/* 23.02: the credential carries the job's times, extra, licenses, core
 * spec and oversubscribe, and prep/script passes them to slurmd hooks. */
#define PD_HAVE_CRED_JOB_DETAILS PD_SINCE(23, 2, 0)

/* 23.02.5: slurmd resolves relative Prolog/Epilog paths against the
 * folder of slurm.conf (get_extra_conf_path) before any plugin sees them. */
#define PD_HAVE_RELATIVE_HOOK_PATHS PD_SINCE(23, 2, 5)

/* 23.02.6: SLURM_JOB_NODELIST in slurmd contexts too. */
#define PD_HAVE_SLURMD_JOB_NODELIST PD_SINCE(23, 2, 6)

/* Up to 23.02: SLURM_NODE_ALIASES (cloud nodes) in slurmd contexts. */
#define PD_HAVE_NODE_ALIASES (!PD_SINCE(23, 11, 0))

/* Up to 23.02 job_env_t.user_name, SLURM_JOB_USER set right after the work
 * dir; from 23.11 it is the credential's user, set last. (Checked by the
 * releases built here: 22.05 and 24.11+.) */
#define PD_HAVE_JOB_ENV_USER_NAME (!PD_SINCE(23, 11, 0))

/* Up to 23.02 SLURM_JOB_PARTITION first comes from job_env_t.partition
 * (then the credential's); from 23.11 from the credential only. */
#define PD_HAVE_JOB_ENV_PARTITION (!PD_SINCE(23, 11, 0))

/* Up to 23.11: job_env_t.container_join (job_container/cncu). */
#define PD_HAVE_CONTAINER_JOIN (!PD_SINCE(24, 5, 0))

/* 24.05: Prolog=, Epilog=, PrologSlurmctld=, EpilogSlurmctld= may repeat:
 * slurm_conf holds arrays with counts instead of one string each. */
#define PD_HAVE_HOOK_ARRAYS PD_SINCE(24, 5, 0)

/* 25.05: PrologTimeout and EpilogTimeout replace PrologEpilogTimeout. */
#define PD_HAVE_SPLIT_TIMEOUTS PD_SINCE(25, 5, 0)

/* 25.11: job_env_t.step_id replaces jobid; the job's SLUID
 * (SLURM_JOB_SLUID) and SELinux context reach slurmd hooks. */
#define PD_HAVE_STEP_ID PD_SINCE(25, 11, 0)
#define PD_HAVE_SLUID PD_SINCE(25, 11, 0)
#define PD_HAVE_CRED_SELINUX PD_SINCE(25, 11, 0)

/* 26.05: SLURM_JOB_QOS and SLURM_JOB_EXCLUSIVE in slurmd contexts, and
 * SLURM_JOB_OVERSUBSCRIBE spelled NO/YES/OK. */
#define PD_HAVE_CRED_QOS_EXCLUSIVE PD_SINCE(26, 5, 0)

/* 24.05: run_command's poll loop is run_command_poll_child() (its name
 * starts its timeout line), and slurmscriptd logs a script ended by
 * SIGKILL as "killed by signal 9" (info) instead of "exit status 0:9". */
#if PD_SINCE(24, 5, 0)
#define PD_RUN_COMMAND_FN "run_command_poll_child"
#define PD_CTLD_SIGKILL_IS_KILLED 1
#else
#define PD_RUN_COMMAND_FN "run_command"
#define PD_CTLD_SIGKILL_IS_KILLED 0
#endif

/* 24.05.5: scripts start through Slurm's script launcher (a re-exec of the
 * daemon), so they begin with no signal blocked instead of the daemon
 * thread's mask (slurmscriptd's blocks SIGTERM: timeouts ended in SIGKILL). */
#define PD_HAVE_SCRIPT_LAUNCHER PD_SINCE(24, 5, 5)

#if PD_HAVE_STEP_ID
#define PD_JOB_ENV_JOB_ID(je) ((je)->step_id.job_id)
#else
#define PD_JOB_ENV_JOB_ID(je) ((je)->jobid)
#endif

#if PD_HAVE_CRED_QOS_EXCLUSIVE
#define PD_OVERSUBSCRIBE_STRING(v) job_oversubscribe_string(v)
#else
#define PD_OVERSUBSCRIBE_STRING(v) job_share_string(v)
#endif

#endif
