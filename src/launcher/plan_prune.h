/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The plan cache's garbage (plan_prune.c): plans of modules that are gone. */
#ifndef PREP_DENO_LAUNCHER_PLAN_PRUNE_H
#define PREP_DENO_LAUNCHER_PLAN_PRUNE_H

#include "launcher.h"

/*
 * Removes the cached plans (and free locks) of modules that are gone, in a
 * detached process of its own: never holds the caller.
 */
void pd_plan_prune_detached(void);

#endif
