// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * build/prep-deno where no denort base binary exists for `deno compile`:
 * runs src/main.ts on the pinned Deno. A shell script would add PWD and
 * friends to the hook's environment; this passes it on byte for byte.
 * PREP_DENO_DENO, PREP_DENO_MAIN and PREP_DENO_RUN_FLAGS (the flags the
 * runner re-executes itself with, src/self_command.ts) come from
 * scripts/build.ts, so the two can never disagree.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const run_flags[] = { "run", PREP_DENO_RUN_FLAGS };
#define N_FLAGS (sizeof(run_flags) / sizeof(run_flags[0]))

int main(int argc, char **argv)
{
	char **args = calloc((size_t)argc + N_FLAGS + 2, sizeof(char *));
	size_t n = 0;

	if (!args)
		return 126;
	args[n++] = (char *)PREP_DENO_DENO;
	for (size_t i = 0; i < N_FLAGS; i++)
		args[n++] = (char *)run_flags[i];
	args[n++] = (char *)PREP_DENO_MAIN;
	for (int i = 1; i < argc; i++)
		args[n++] = argv[i];
	args[n] = NULL;
	execv(PREP_DENO_DENO, args);
	fprintf(stderr, "prep-deno: cannot execute %s: %s\n", PREP_DENO_DENO,
		strerror(errno));
	return 126;
}
