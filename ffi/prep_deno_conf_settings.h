// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Start-up and reconfigure honesty: the effective settings in one log line
 * at init, with what can be checked then (the runner, bubblewrap, each
 * hook readable); and a PrEpParameters change the daemon did not hand to
 * the plugin (Slurm 22.05 re-initializes PrEp plugins on reconfigure only
 * when PrEpPlugins itself changes) logged, never silently ignored.
 */
#ifndef PREP_DENO_CONF_SETTINGS_H
#define PREP_DENO_CONF_SETTINGS_H

#include <stdbool.h>

/*
 * Where bubblewrap is looked for, in order: the runner's own list
 * (BWRAP_PATHS in src/sandbox/sandbox.ts; tests/ffi/settings_test.ts holds them
 * equal).
 */
#define PD_BWRAP_PATHS "/usr/bin/bwrap", "/usr/local/bin/bwrap"

/* Logs the settings init() parsed, and what it can check, in one line;
 * remembers PrEpParameters as parsed. */
extern void pd_settings_log(bool ctld);

/* At each hook call: logs once per new value when slurm.conf's
 * PrEpParameters differs from the one the plugin runs with. */
extern void pd_settings_check_changed(void);

extern void pd_settings_free(void);

#endif
