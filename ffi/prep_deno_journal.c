// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prep/deno core: the journal, an append-only file of one record per hook
 * run. Why a file and not SQLite: the writer is this C code inside slurmd
 * and slurmctld (the one place that sees script, spawn and warm runs
 * alike), it must not add a library to the daemons, and a record must
 * survive the daemon being SIGKILLed at any instruction. So each record is
 * ONE write(2) with O_APPEND (writers never interleave; a finished write
 * is in the page cache whatever happens to the process next), framed as
 * RFC 7464 JSON text sequences (RS ... LF) with a CRC-32: a reader skips a
 * torn tail by its checksum and resynchronises on the next RS, which JSON
 * text never contains.
 *
 * Bounds: the file turns into PATH.1 when it passes half of
 * journal_max_mb or its first record is older than half of
 * journal_max_days; the previous PATH.1 goes then. Writers hold PATH.lock
 * shared while they append, the rotation holds it exclusively, so no
 * record is written into a file being dropped.
 */
#define _GNU_SOURCE
#include "prep_deno_observe.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

pdc_observe_t pdc_observe = {
	.journal_max_bytes = (long long)PD_JOURNAL_MAX_MB << 20,
	.journal_max_days = PD_JOURNAL_MAX_DAYS,
	.journal_output_max = PD_JOURNAL_OUTPUT_KB << 10,
	.daemon = "test",
};

static uint32_t crc32_of(const char *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	for (size_t i = 0; i < n; i++) {
		c ^= (unsigned char)p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
	}
	return ~c;
}

static char *with_suffix(const char *path, const char *suffix)
{
	char *s = NULL;

	return asprintf(&s, "%s%s", path, suffix) < 0 ? NULL : s;
}

/* The "t" (epoch ms) of the file's first record, or -1. */
static long long first_time(const char *path)
{
	char head[64] = { 0 };
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *t;

	if (fd < 0)
		return -1;
	if (read(fd, head, sizeof(head) - 1) < 0)
		head[0] = '\0';
	close(fd);
	t = strstr(head, "{\"t\":");
	return t ? atoll(t + 5) : -1;
}

static int lock_file(const char *lock, int how)
{
	int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return -1;
	while (flock(fd, how) < 0) {
		if (errno != EINTR) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

static long long now_epoch_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The first record's time of the file with inode `ino`, read once per file. */
static long long first_time_cached(const char *path, ino_t ino)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static ino_t known_ino;
	static long long known_first = -1;
	long long first;

	pthread_mutex_lock(&lock);
	if (known_ino != ino || known_first < 0) {
		known_first = first_time(path);
		known_ino = ino;
	}
	first = known_first;
	pthread_mutex_unlock(&lock);
	return first;
}

/* PATH -> PATH.1 when too big or too old; under the exclusive lock. */
static void maybe_rotate(const char *path, const char *lock, off_t size,
			 ino_t ino)
{
	long long half = pdc_observe.journal_max_bytes / 2;
	long long age_ms = (long long)pdc_observe.journal_max_days * 86400000LL / 2;
	long long first;
	struct stat st;
	char *older;
	int fd;

	first = first_time_cached(path, ino);
	if (size < half && (first < 0 || now_epoch_ms() - first < age_ms))
		return;
	if ((fd = lock_file(lock, LOCK_EX)) < 0)
		return;
	/* Someone else may have rotated while this waited. */
	first = first_time(path);
	if (!stat(path, &st) &&
	    (st.st_size >= half || (first >= 0 && now_epoch_ms() - first >= age_ms)) &&
	    (older = with_suffix(path, ".1"))) {
		rename(path, older);
		free(older);
	}
	close(fd);
}

int pdc_journal_append(const char *json, size_t len)
{
	const char *path = pdc_observe.journal;
	char *lock, *rec;
	size_t n;
	ssize_t w;
	struct stat st = { 0 };
	int lfd, fd, rc = 0;

	if (!path || !*path)
		return 0;
	if (!(lock = with_suffix(path, ".lock")))
		return -1;
	if (!(rec = malloc(len + 12))) {
		free(lock);
		return -1;
	}
	rec[0] = '\x1e';
	snprintf(rec + 1, 10, "%08x ", crc32_of(json, len));
	memcpy(rec + 10, json, len);
	rec[10 + len] = '\n';
	n = len + 11;
	if ((lfd = lock_file(lock, LOCK_SH)) < 0) {
		free(lock);
		free(rec);
		return -1;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0) {
		rc = -1;
	} else {
		/* One write: a record is whole or (disk full, a fatal signal
		 * mid-copy) torn and then skipped by its checksum. */
		w = write(fd, rec, n);
		if (w != (ssize_t)n)
			rc = -1;
		fstat(fd, &st);
		close(fd);
	}
	close(lfd);
	if (!rc)
		maybe_rotate(path, lock, st.st_size, st.st_ino);
	free(lock);
	free(rec);
	return rc;
}
