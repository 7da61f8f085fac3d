/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Launch plans: computed by Deno (`prep-deno __plan MODULE HOOK`, see
 * src/launch/plan.ts) only when the policy may have changed, kept in a
 * root-only cache. A cached plan is used only if every file and folder the
 * policy lookup depends on has the same stat (files: device, inode, mode,
 * owner, size, mtime, ctime to the nanosecond; folders: device, inode,
 * mode, owner) as when the plan was made, and only
 * if the cache folder and file are owned by us and writable by nobody else.
 *
 * Cache file: "KEY\0" (module, hook, build id), a count of deps, each as
 * "path\0stat\0", then the plan exactly as Deno encoded it (deps, bwrap,
 * command, seeds: see encodePlan() in src/launch/plan.ts).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io.h"
#include "plan.h"
#include "plan_prune.h"
#include "rundir.h"

static const char *next_str(char **p, char *end)
{
	char *s = *p, *nul;

	if (s >= end || !(nul = memchr(s, '\0', (size_t)(end - s))))
		return NULL;
	*p = nul + 1;
	return s;
}

static int decode_list(char **p, char *end, struct pd_list *list)
{
	const char *count = next_str(p, end);
	char *stop;
	unsigned long n;

	if (!count)
		return -1;
	n = strtoul(count, &stop, 10);
	if (*stop || n > 100000)
		return -1;
	list->n = n;
	list->items = calloc(n + 1, sizeof(char *));
	if (!list->items)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!(list->items[i] = (char *)next_str(p, end)))
			return -1;
	return 0;
}

int pd_plan_decode(char *bytes, size_t len, struct pd_plan *plan)
{
	char *p = bytes, *end = bytes + len;
	const char *magic = next_str(&p, end);

	memset(plan, 0, sizeof(*plan));
	plan->bytes = bytes;
	plan->len = len;
	if (!magic || strcmp(magic, PD_PLAN_MAGIC) || decode_list(&p, end, &plan->deps) ||
	    decode_list(&p, end, &plan->bwrap) || decode_list(&p, end, &plan->command) ||
	    decode_list(&p, end, &plan->seeds) || decode_list(&p, end, &plan->privileged) ||
	    decode_list(&p, end, &plan->fd_binds) || plan->fd_binds.n % 2 ||
	    plan->bwrap.n < 1 || plan->command.n < 2 ||
	    plan->seeds.n % 2)
		return -1;
	return 0;
}

void pd_plan_free(struct pd_plan *plan)
{
	free(plan->deps.items);
	free(plan->bwrap.items);
	free(plan->command.items);
	free(plan->seeds.items);
	free(plan->privileged.items);
	free(plan->fd_binds.items);
	free(plan->bytes);
	memset(plan, 0, sizeof(*plan));
}

/* One path's stat as text; "-" when it does not exist; -1 on other errors. */
static int stat_text(const char *path, char *out, size_t size)
{
	struct stat st;

	if (lstat(path, &st) < 0) {
		if (errno != ENOENT && errno != ENOTDIR)
			return -1;
		snprintf(out, size, "-");
		return 0;
	}
	/*
	 * A folder counts by identity, owner and mode only: its mtime moves
	 * with every file made in it (think /tmp), and what the lookup reads
	 * in it, its deno.json, is a dep of its own. Named "DIR/." it counts
	 * by its listing too (mtime, ctime): the plan masks what is in it
	 * (slurm.conf's folder), or binds what it holds (the folder a device
	 * glob reads, a folder of devices bound whole; see viewDeps() in
	 * src/sandbox/view.ts).
	 */
	size_t len = strlen(path);

	if (S_ISDIR(st.st_mode) && len >= 2 && !strcmp(path + len - 2, "/.")) {
		snprintf(out, size, "%llu:%llu:%o:%u:%u:%lld.%09ld:%lld.%09ld",
			 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino, st.st_mode,
			 st.st_uid, st.st_gid, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
			 (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
		return 0;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(out, size, "%llu:%llu:%o:%u:%u", (unsigned long long)st.st_dev,
			 (unsigned long long)st.st_ino, st.st_mode, st.st_uid, st.st_gid);
		return 0;
	}
	snprintf(out, size, "%llu:%llu:%o:%u:%u:%lld:%lld.%09ld:%lld.%09ld",
		 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino, st.st_mode,
		 st.st_uid, st.st_gid, (long long)st.st_size, (long long)st.st_mtim.tv_sec,
		 st.st_mtim.tv_nsec, (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
	return 0;
}

static int cache_path(const char *module, const char *hook, const char *conf, char *out,
		      size_t size)
{
	uint64_t h = 1469598103934665603ULL;
	const char *parts[] = { module, hook, PREP_DENO_BUILD_ID, conf ? conf : "" };

	/* Root's, in root's folders all the way down (rundir.c). */
	if (pd_run_dir("plans", 0700, out, size) < 0)
		return -1;
	for (size_t i = 0; i < 4; i++)
		for (const char *c = parts[i];; c++) {
			h = (h ^ (unsigned char)*c) * 1099511628211ULL;
			if (!*c)
				break;
		}
	snprintf(out, size, "%s/plans/%016llx", PREP_DENO_RUN_DIR, (unsigned long long)h);
	return 0;
}

int pd_plan_lookup(const char *module, const char *hook, const char *conf, struct pd_plan *plan)
{
	char path[4200], key[12600], now[256];
	struct stat st;
	size_t len;
	char *bytes, *p, *end;
	const char *got;
	int fd;

	if (cache_path(module, hook, conf, path, sizeof(path)) < 0)
		return -1;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 022) || !(bytes = pd_read_all(fd, &len))) {
		close(fd);
		return -1;
	}
	close(fd);
	p = bytes;
	end = bytes + len;
	/* The daemon's slurm.conf is part of the key: `slurm: true` binds its folder. */
	snprintf(key, sizeof(key), "%s\n%s\n%s\n%s", module, hook, PREP_DENO_BUILD_ID,
		 conf ? conf : "");
	if (!(got = next_str(&p, end)) || strcmp(got, key) || !(got = next_str(&p, end)))
		goto stale;
	for (long n = atol(got); n > 0; n--) {
		const char *dep = next_str(&p, end), *was = next_str(&p, end);

		if (!dep || !was || stat_text(dep, now, sizeof(now)) < 0 || strcmp(was, now))
			goto stale;
	}
	memmove(bytes, p, (size_t)(end - p));
	if (pd_plan_decode(bytes, (size_t)(end - p), plan) == 0)
		return 0;
	pd_plan_free(plan);
	return -1;
stale:
	free(bytes);
	return -1;
}

/* The stats of `deps`, "path\0stat\0" each; NULL when one cannot be read. */
static char *stats_of(const struct pd_list *deps, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *out = malloc(cap), st[256];

	for (size_t i = 0; out && i < deps->n; i++) {
		size_t need;

		if (stat_text(deps->items[i], st, sizeof(st)) < 0) {
			free(out);
			return NULL;
		}
		need = strlen(deps->items[i]) + strlen(st) + 2;
		if (n + need > cap) {
			char *bigger = realloc(out, cap = 2 * (n + need));
			if (!bigger) {
				free(out);
				return NULL;
			}
			out = bigger;
		}
		memcpy(out + n, deps->items[i], strlen(deps->items[i]) + 1);
		n += strlen(deps->items[i]) + 1;
		memcpy(out + n, st, strlen(st) + 1);
		n += strlen(st) + 1;
	}
	*len = n;
	return out;
}

static void store(const char *module, const char *hook, const char *conf,
		  const struct pd_plan *plan, const char *stats, size_t stats_len)
{
	char path[4200], tmp[4300], head[12600];
	int fd, ok, head_len;
	FILE *f;

	if (cache_path(module, hook, conf, path, sizeof(path)) < 0)
		return;
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(tmp);
		return;
	}
	head_len = snprintf(head, sizeof(head), "%s\n%s\n%s\n%s%c%zu%c", module, hook,
			    PREP_DENO_BUILD_ID, conf ? conf : "", '\0', plan->deps.n, '\0');
	ok = fwrite(head, 1, (size_t)head_len, f) == (size_t)head_len &&
	     fwrite(stats, 1, stats_len, f) == stats_len &&
	     fwrite(plan->bytes, 1, plan->len, f) == plan->len;
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, path) < 0)
		unlink(tmp);
}

/* What policyDeps (src/launch/plan.ts) lists first: each folder above the module and its configs. */
static struct pd_list std_deps(const char *module)
{
	struct pd_list l = { 0, NULL };
	size_t cap = 0;
	char *dir = strdup(module), *slash;

	while (dir && (slash = strrchr(dir, '/'))) {
		const char *names[] = { "", "/deno.json", "/deno.jsonc" };

		*slash = '\0';
		if (l.n + 4 > cap) {
			char **bigger = realloc(l.items, (cap = 2 * cap + 8) * sizeof(char *));
			if (!bigger)
				break;
			l.items = bigger;
		}
		for (size_t i = 0; i < 3; i++) {
			char *item = NULL;
			if (asprintf(&item, "%s%s", dir[0] ? dir : "/", dir[0] || i == 0 ? names[i] : names[i] + 1) < 0)
				item = NULL;
			l.items[l.n++] = item;
		}
		if (!dir[0])
			break;
	}
	free(dir);
	if (l.items)
		l.items[l.n] = NULL;
	return l;
}

static void free_list(struct pd_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
}

/*
 * Asks Deno for the plan. A refusal ends the run with Deno's status in
 * *status and, in *refusal (malloc'd, or NULL), the outcome record Deno
 * wrote on stdout instead of a plan.
 */
int pd_plan_make(const char *module, const char *hook, const char *conf, struct pd_plan *plan,
		 int *status, char **refusal)
{
	static const char *const flags[] = { PREP_DENO_RUN_FLAGS };
	const char *argv[sizeof(flags) / sizeof(flags[0]) + 8];
	size_t n = 0, len, before_len = 0, after_len = 0;
	char *bytes, *before, *after;
	struct pd_list deps;
	int pipefd[2], ws;
	pid_t pid;

	memset(plan, 0, sizeof(*plan));
	*refusal = NULL;
	argv[n++] = PREP_DENO_DENO;
	argv[n++] = "run";
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		argv[n++] = flags[i];
	argv[n++] = PREP_DENO_MAIN;
	argv[n++] = "__plan";
	argv[n++] = module;
	argv[n++] = hook;
	if (conf)
		argv[n++] = conf;
	argv[n] = NULL;
	deps = std_deps(module);
	before = stats_of(&deps, &before_len);
	free_list(&deps);
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		free(before);
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		free(before);
		return -1;
	}
	if (pid == 0) {
		dup2(pipefd[1], 1);
		execv(PREP_DENO_DENO, (char **)argv);
		_exit(PD_EXIT_SANDBOX);
	}
	close(pipefd[1]);
	bytes = pd_read_all(pipefd[0], &len);
	close(pipefd[0]);
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
		if (bytes && len > 0 && len < PD_OUTCOME_MAX && !memchr(bytes, 0, len)) {
			bytes[len] = '\0';
			*refusal = bytes;
		} else {
			free(bytes);
		}
		free(before);
		*status = WIFEXITED(ws) ? WEXITSTATUS(ws) : PD_EXIT_SANDBOX;
		return -1;
	}
	*status = 0;
	if (!bytes || pd_plan_decode(bytes, len, plan) < 0) {
		if (plan->bytes)
			pd_plan_free(plan);
		else
			free(bytes);
		free(before);
		*status = PD_EXIT_SANDBOX;
		return -1;
	}
	/*
	 * Cache only a plan whose inputs held still while it was made: the
	 * policy lookup's files, stat before Deno read them, must be the
	 * same after (the plan lists them first, then any others).
	 */
	after = before ? stats_of(&plan->deps, &after_len) : NULL;
	if (after && before_len <= after_len && !memcmp(before, after, before_len))
		store(module, hook, conf, plan, after, after_len);
	free(before);
	free(after);
	return 0;
}

/*
 * The plan from the cache, else made once: concurrent hooks of one module
 * (a new version reaching many jobs at once) wait on a lock beside its
 * cache entry while the first makes the plan (and type-checks the module),
 * then read what it stored, instead of each checking it at once on the
 * node's cores and running past their timeout together.
 */
/*
 * The plan's lock, held: the file the name has now (prune_plans may remove
 * a free lock, and a waiter on the removed file would hold a lock nobody
 * else sees); -1 if it cannot be had (the plan is made without it).
 */
static int lock_plan(const char *lock_path)
{
	for (int tries = 0; tries < 8; tries++) {
		struct stat held, named;
		int fd = open(lock_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

		if (fd < 0)
			return -1;
		while (flock(fd, LOCK_EX) < 0 && errno == EINTR)
			;
		if (fstat(fd, &held) == 0 && lstat(lock_path, &named) == 0 &&
		    held.st_dev == named.st_dev && held.st_ino == named.st_ino)
			return fd;
		close(fd); /* removed while we waited: lock the one there now */
	}
	return -1;
}

int pd_plan_get(const char *module, const char *hook, const char *conf, struct pd_plan *plan,
		int *status, char **refusal)
{
	char path[4200], lock_path[4300];
	int lock = -1, rc;

	if (pd_plan_lookup(module, hook, conf, plan) == 0)
		return 0;
	if (cache_path(module, hook, conf, path, sizeof(path)) == 0) {
		snprintf(lock_path, sizeof(lock_path), "%s.lock", path);
		lock = lock_plan(lock_path);
		if (lock >= 0) {
			if (pd_plan_lookup(module, hook, conf, plan) == 0) {
				close(lock);
				return 0;
			}
		}
	}
	rc = pd_plan_make(module, hook, conf, plan, status, refusal);
	if (lock >= 0)
		close(lock);
	if (rc == 0)
		pd_plan_prune_detached();
	return rc;
}
