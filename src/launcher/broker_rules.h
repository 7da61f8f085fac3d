/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The broker's rules: the plan's privileged list (encodePrivileged in
 * src/sandbox/privileged.ts) and the matching of a request's arguments against
 * their patterns (literals and placeholders, src/sandbox/privileged.ts's
 * PLACEHOLDERS).
 */
#ifndef PREP_DENO_LAUNCHER_BROKER_RULES_H
#define PREP_DENO_LAUNCHER_BROKER_RULES_H

#include <stddef.h>

#include "launcher.h"

/* One rule of the plan's privileged list (encodePrivileged in src/sandbox/privileged.ts). */
struct pd_rule {
	const char *name, *path, *caps;
	char **patterns; /* each: a count, then its elements */
	size_t n_patterns;
};

/* The rule named `name`, parsed from the plan's list; -1 if none. */
int pd_rule_find(const struct pd_list *l, const char *name, struct pd_rule *r);

/* Whether args[0..n) matches one of the rule's patterns, element by element. */
int pd_rule_allows(const struct pd_rule *r, char **args, size_t n);

#endif
