// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prep/deno core: what an admin sees of the hook runs afterwards. Every hook
 * run (script, spawn, warm) becomes one journal record and one update of
 * the Prometheus textfile. No Slurm header: the glue sets the paths and
 * limits from PrEpParameters, the core calls in after each hook.
 */
#ifndef PREP_DENO_OBSERVE_H
#define PREP_DENO_OBSERVE_H

#include <stddef.h>
#include <stdint.h>

#include "prep_deno_core.h"

/* How a hook was run (the journal's and the log's "mode"). */
enum { PDC_MODE_SCRIPT, PDC_MODE_SPAWN, PDC_MODE_WARM };

/* Where records and metrics go; NULL paths turn each off. */
typedef struct {
	char *journal;             /* journal=PATH (journal.1 is the older half) */
	long long journal_max_bytes; /* journal_max_mb: both halves together */
	int journal_max_days;      /* journal_max_days: older records go */
	size_t journal_output_max; /* journal_output_kb: output kept per run */
	char *metrics;             /* metrics=PATH: node_exporter's textfile */
	const char *daemon;        /* "slurmd" or "slurmctld" (a label) */
} pdc_observe_t;

extern pdc_observe_t pdc_observe;

/* Defaults when PrEpParameters say nothing (journal on in the daemons). */
#define PD_JOURNAL_PATH "/var/lib/prep-deno/journal"
/* The journal's numbers: PD_NUMBERS' defaults (prep_deno_contract.h). */
#define PD_JOURNAL_MAX_MB PD_NUMBER_DEFAULT_JOURNAL_MAX_MB
#define PD_JOURNAL_MAX_DAYS PD_NUMBER_DEFAULT_JOURNAL_MAX_DAYS
#define PD_JOURNAL_OUTPUT_KB PD_NUMBER_DEFAULT_JOURNAL_OUTPUT_KB

/*
 * How one hook ended: "ok"; for a TypeScript hook the kind of its outcome
 * record (src/outcome/outcome_record.ts: threw, returned, timeout, memory, ...,
 * written into `buf`), or without one "timeout", "signal", "memory",
 * "refused", "lost"; for a script "exit", "timeout", "signal", "not_run".
 */
extern const char *pdc_cause_kind(const pdc_outcome_t *out,
				  char *buf, size_t size);

/* Field `n` (0: the magic) of an outcome record line, malloc'd; NULL if
 * absent or empty. */
extern char *pdc_record_field(const char *record, int n);

/* The cause text: a TypeScript hook's record's cause, else how it ended
 * (exit status N, timed out, killed by signal N). malloc'd; NULL on ok. */
extern char *pdc_cause_text(const pdc_outcome_t *out);

/* "prolog", "epilog", "prolog_slurmctld", "epilog_slurmctld" from envp's
 * SLURM_SCRIPT_CONTEXT without its "_slurmd"; "hook" if unset. */
extern const char *pdc_hook_name(char *const *envp, char *buf, size_t size);

/* After each hook: one journal record and the metrics, both best effort
 * (a full disk never fails a hook; the failure is counted and returned). */
extern int pdc_observe_hook(char *const *envp, const char *path,
			    const pdc_outcome_t *out);

/* After the node's reason was set: a record joining it to the run. */
extern int pdc_observe_reason(uint32_t job_id, const char *hook,
			      const char *path, const char *reason);

/* Appends one journal record (JSON object text) in one write(2):
 * RS, CRC-32 of the JSON in 8 hex digits, a space, the JSON, LF. */
extern int pdc_journal_append(const char *json, size_t len);

/* Counts one run into the metrics and rewrites the textfile. */
extern void pdc_metrics_hook(const char *hook, const char *path,
			     const char *mode, const char *kind,
			     int duration_ms, int timed_out);
extern void pdc_metrics_drain(const char *hook);
extern void pdc_metrics_journal_error(void);

#endif
