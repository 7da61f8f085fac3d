/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Ending what privileged commands left running (see reap.h).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "reap.h"

/* The parent pid in /proc/PID/stat (after the command's name, which may hold anything). */
static pid_t parent_of(const char *pid)
{
	char path[64], buf[1024], *close_paren;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	close_paren = strrchr(buf, ')');
	return close_paren ? (pid_t)strtol(close_paren + 3, NULL, 10) : -1;
}

/*
 * Kills and reaps every child we still have once the hook and the broker
 * are gone: with us a subreaper, those are processes privileged commands
 * left running, orphaned to us (a daemon in a session of its own, outside
 * the broker's process group). Without it they would live on as root with
 * the command's capabilities wherever no cgroup ends the hook's processes.
 */
void pd_end_orphans(void)
{
	for (;;) {
		DIR *d = opendir("/proc");
		struct dirent *e;
		pid_t w;

		while (d && (e = readdir(d)))
			if (e->d_name[0] >= '1' && e->d_name[0] <= '9' &&
			    parent_of(e->d_name) == getpid())
				kill((pid_t)strtol(e->d_name, NULL, 10), SIGKILL);
		if (d)
			closedir(d);
		w = waitpid(-1, NULL, WNOHANG);
		if (w < 0 && errno != EINTR)
			return; /* ECHILD: none left */
		if (w == 0)
			nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
}
