/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The privileged-command broker: a child of the launcher, outside the
 * sandbox, that runs the policy's privileged commands (src/sandbox/privileged.ts)
 * for the hook. It listens on a socket in a root-only folder; the launcher
 * binds that socket alone into the hook's view (PD_PRIVILEGED_SOCKET).
 */
#ifndef PREP_DENO_LAUNCHER_BROKER_H
#define PREP_DENO_LAUNCHER_BROKER_H

#include <sys/types.h>

#include "launcher.h"

struct pd_broker {
	pid_t pid;	 /* 0: the plan names no privileged command */
	char dir[4200];	 /* the socket's private folder */
	char sock[4300]; /* the socket, bound at PD_PRIVILEGED_SOCKET in the view */
};

/* Starts the broker when the plan names privileged commands; 0, or -1 (errno set). */
int pd_broker_start(const struct pd_plan *plan, struct pd_broker *b);

/* Ends the broker (and whatever it runs) and removes its socket. */
void pd_broker_stop(struct pd_broker *b);

#endif
