/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The bwrap command line of one hook: the plan's arguments plus what this
 * launch opens for it (seeds, descriptor binds) and binds into it (the
 * status file, the broker's socket).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "argv.h"

/*
 * The plan's seeds (src/launch/plan.ts), opened for bwrap's --file: -1 for
 * one that is missing or that anyone but root or us could have written (a
 * seed is only a head start for Deno's cache; the hook runs without it).
 */
void pd_open_seeds(const struct pd_plan *p, int *fds)
{
	for (size_t i = 0; i < PD_MAX_SEEDS; i++) {
		struct stat st;

		fds[i] = -1;
		if (i >= p->seeds.n / 2)
			continue;
		fds[i] = open(p->seeds.items[2 * i], O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fds[i] >= 0 && (fstat(fds[i], &st) < 0 || !S_ISREG(st.st_mode) ||
				    (st.st_uid != geteuid() && st.st_uid != 0) || (st.st_mode & 022))) {
			close(fds[i]);
			fds[i] = -1;
		}
	}
}

/*
 * The plan's descriptor binds (grants in a folder a service user owns, see
 * byFd in src/sandbox/trust.ts): each opened from its folder with O_NOFOLLOW, so
 * whoever owns that folder cannot swap the entry for a link to another
 * file. -1, with the path in `bad`, when one is now a link, missing, or
 * neither a file nor a folder.
 */
int pd_open_fd_binds(const struct pd_plan *p, int *fds, const char **bad)
{
	for (size_t i = 0; i < PD_MAX_FD_BINDS; i++)
		fds[i] = -1;
	for (size_t i = 0; i < p->fd_binds.n / 2 && i < PD_MAX_FD_BINDS; i++) {
		const char *path = p->fd_binds.items[2 * i + 1], *slash = strrchr(path, '/');
		char parent[4096];
		struct stat st;
		int dir;

		*bad = path;
		if (!slash || slash[1] == '\0' || (size_t)(slash - path) >= sizeof(parent))
			return -1;
		snprintf(parent, sizeof(parent), "%.*s", slash == path ? 1 : (int)(slash - path), path);
		dir = open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dir < 0)
			return -1;
		fds[i] = openat(dir, slash + 1, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		close(dir);
		if (fds[i] < 0 || fstat(fds[i], &st) < 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
			return -1;
	}
	*bad = NULL;
	return 0;
}

void pd_close_fds(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

void pd_close_seeds(int *fds)
{
	for (size_t i = 0; i < PD_MAX_SEEDS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/*
 * info_fd/block_fd >= 0: bwrap reports the sandbox's first pid on info_fd
 * and waits on block_fd before it starts the hook, so the move of that pid
 * into the cgroup (slow on cgroup v1: an RCU grace period) runs while bwrap
 * builds the view, instead of before it.
 */
char **pd_final_argv(const struct pd_hook *h, const char *status_path, int info_fd,
			 int block_fd, const int *seed_fds, const char *broker_sock, const int *bind_fds)
{
	const struct pd_plan *p = h->plan;
	size_t n = 0;
	char **argv = calloc(p->bwrap.n + p->command.n + 3 * PD_MAX_SEEDS + 3 * PD_MAX_FD_BINDS + 16,
			     sizeof(char *));
	static char v8[64], info[16], block[16], fds[PD_MAX_SEEDS][16], binds[PD_MAX_FD_BINDS][16];

	if (!argv || p->command.n < 2)
		return NULL;
	for (size_t i = 0; i < p->bwrap.n; i++)
		argv[n++] = p->bwrap.items[i];
	if (info_fd >= 0 && block_fd >= 0) {
		snprintf(info, sizeof(info), "%d", info_fd);
		snprintf(block, sizeof(block), "%d", block_fd);
		argv[n++] = "--info-fd";
		argv[n++] = info;
		argv[n++] = "--block-fd";
		argv[n++] = block;
	}
	for (size_t i = 0; i < PD_MAX_SEEDS; i++) {
		if (seed_fds[i] < 0)
			continue;
		snprintf(fds[i], sizeof(fds[i]), "%d", seed_fds[i]);
		argv[n++] = "--file";
		argv[n++] = fds[i];
		argv[n++] = p->seeds.items[2 * i + 1];
	}
	if (status_path) {
		argv[n++] = "--bind";
		argv[n++] = (char *)status_path;
		argv[n++] = PD_STATUS_PATH;
	}
	for (size_t i = 0; i < PD_MAX_FD_BINDS; i++) {
		if (bind_fds[i] < 0)
			continue;
		snprintf(binds[i], sizeof(binds[i]), "%d", bind_fds[i]);
		argv[n++] = strcmp(p->fd_binds.items[2 * i], "rw") ? "--ro-bind-fd" : "--bind-fd";
		argv[n++] = binds[i];
		argv[n++] = p->fd_binds.items[2 * i + 1];
	}
	if (broker_sock) {
		/* The socket alone, on the view's own tmpfs over the runner's state. */
		argv[n++] = "--bind";
		argv[n++] = (char *)broker_sock;
		argv[n++] = PD_PRIVILEGED_SOCKET;
	}
	argv[n++] = "--";
	/*
	 * The command is `deno run ...`, possibly behind a wrapper (setpriv,
	 * see sandboxedCommand() in src/sandbox/sandbox.ts): the heap flag goes right
	 * after the first "run" (PD_V8_FLAGS_AFTER).
	 */
	size_t i = 0, run = 1;
	while (run < p->command.n && strcmp(p->command.items[run], PD_V8_FLAGS_AFTER))
		run++;
	if (run == p->command.n)
		run = 1;
	while (i <= run)
		argv[n++] = p->command.items[i++];
	snprintf(v8, sizeof(v8), PD_HEAP_FLAG, h->heap_mb);
	argv[n++] = v8;
	while (i < p->command.n)
		argv[n++] = p->command.items[i++];
	if (h->list_exports)
		argv[n++] = "--list-exports";
	argv[n] = NULL;
	return argv;
}

