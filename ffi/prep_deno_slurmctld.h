// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prep/deno, slurmctld side (PrologSlurmctld, EpilogSlurmctld): called by
 * the glue, calls the shared config and the core only.
 */
#ifndef PREP_DENO_SLURMCTLD_H
#define PREP_DENO_SLURMCTLD_H

#include "prep_deno_conf.h"

typedef void (*pd_ctld_cb_t)(int rc, uint32_t job_id, bool timed_out);

/* prep_p_register_callbacks(): slurmctld's completion callbacks. */
extern void prep_deno_slurmctld_callbacks(pd_ctld_cb_t prolog_cb,
					  pd_ctld_cb_t epilog_cb);

/* init() in slurmctld: checks the configured hooks as prep/script does. */
extern void prep_deno_slurmctld_init(void);

/* Whether prep_p_required() says yes for the hook. */
extern bool prep_deno_slurmctld_have(bool is_epilog);

/* prep_p_{prolog,epilog}_slurmctld(): `job` is a job_record_t; returns
 * true when hooks were started (async: one callback will come). */
extern bool prep_deno_slurmctld(void *job, bool is_epilog);

#endif
