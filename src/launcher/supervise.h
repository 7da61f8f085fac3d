/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Runs one hook (supervise.c). */
#ifndef PREP_DENO_LAUNCHER_SUPERVISE_H
#define PREP_DENO_LAUNCHER_SUPERVISE_H

#include "launcher.h"

/* Runs the hook; returns its exit status, says why on failure. */
int pd_supervise(const struct pd_hook *h);

#endif
