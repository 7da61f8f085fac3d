/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A job user racing the helpers (tests/helpers/race_test.ts): in DIR (hers),
 * NAME flips between her folder and a link to TARGET as fast as the kernel
 * lets it (renameat2 RENAME_EXCHANGE, atomic), and every 32 flips her folder
 * is refilled (job/f, f, out) so there is always something to remove.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Refills her folder NAME, through its descriptor: never into the link's target. */
static void refill(int d, const char *name)
{
	int dir = openat(d, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW), job, fd;

	if (dir < 0)
		return;
	mkdirat(dir, "job", 0755);
	job = openat(dir, "job", O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	if (job >= 0 && (fd = openat(job, "f", O_WRONLY | O_CREAT | O_NOFOLLOW, 0644)) >= 0)
		close(fd);
	if (job >= 0)
		close(job);
	if ((fd = openat(dir, "f", O_WRONLY | O_CREAT | O_NOFOLLOW, 0644)) >= 0)
		close(fd);
	if ((fd = openat(dir, "out", O_WRONLY | O_CREAT | O_NOFOLLOW, 0644)) >= 0)
		close(fd);
	close(dir);
}

int main(int argc, char **argv)
{
	char alt[256];
	int d;

	if (argc != 4 || (d = open(argv[1], O_RDONLY | O_DIRECTORY)) < 0)
		return 2;
	snprintf(alt, sizeof(alt), ".%s-alt", argv[2]);
	for (unsigned long i = 0;; i++) {
		struct stat a, b;
		int ha = !fstatat(d, argv[2], &a, AT_SYMLINK_NOFOLLOW);
		int hb = !fstatat(d, alt, &b, AT_SYMLINK_NOFOLLOW);

		/* Whatever the helper removed comes back: one folder, one link. */
		if (!ha || !hb) {
			int dir = (ha && S_ISDIR(a.st_mode)) || (hb && S_ISDIR(b.st_mode));

			if (!ha && !dir)
				mkdirat(d, argv[2], 0700);
			else if (!ha)
				symlinkat(argv[3], d, argv[2]);
			if (!hb && (dir || !ha))
				symlinkat(argv[3], d, alt);
			else if (!hb)
				mkdirat(d, alt, 0700);
			continue;
		}
		renameat2(d, argv[2], d, alt, RENAME_EXCHANGE);
		if (i % 32 == 0)
			refill(d, S_ISDIR(a.st_mode) ? alt : argv[2]);
	}
}
