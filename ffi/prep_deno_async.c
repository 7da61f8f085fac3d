// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prep/deno core: hook lists on threads of their own, for slurmctld, which
 * must never wait: deep copies of every argument, exactly one completion
 * call per list whatever happens, and a shutdown that stops them all.
 * With cfg->concurrent each hook of the list runs at once on a thread of
 * its own, as slurmscriptd runs several PrologSlurmctld entries (24.05+).
 */
#define _GNU_SOURCE
#include "prep_deno_run.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_THREADS 4096

static pthread_mutex_t core_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t core_idle = PTHREAD_COND_INITIALIZER;
static int inflight;
/*
 * Hook threads are joined, not detached: a thread is still in this
 * library's code after its callback returns, so the library may only be
 * unloaded once pdc_shutdown() has joined them all.
 */
static struct {
	pthread_t tid;
	int used, done;
} threads[MAX_THREADS];

static char *strdup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

typedef struct {
	int slot;
	pdc_config_t cfg;
	char **paths;
	size_t n_paths;
	char **envp;
	uint32_t job_id;
	pdc_done_fn done;
	void *done_arg;
} async_job_t;

static void async_job_free(async_job_t *job)
{
	free((char *)job->cfg.runner);
	free((char *)job->cfg.warm_socket);
	free((char *)job->cfg.slurm_conf);
	pdc_free_argv(job->paths);
	pdc_free_argv(job->envp);
	free(job);
}

static void finish_one(int slot)
{
	pthread_mutex_lock(&core_lock);
	if (slot >= 0)
		threads[slot].done = 1;
	if (--inflight == 0)
		pthread_cond_broadcast(&core_idle);
	pthread_mutex_unlock(&core_lock);
}

/* Joins finished threads; core_lock held. They take the lock no more. */
static void reap_threads(void)
{
	for (int i = 0; i < MAX_THREADS; i++) {
		if (threads[i].used && threads[i].done) {
			pthread_join(threads[i].tid, NULL);
			threads[i].used = threads[i].done = 0;
		}
	}
}

static int claim_slot(void)
{
	for (int i = 0; i < MAX_THREADS; i++) {
		if (!threads[i].used) {
			threads[i].used = 1;
			threads[i].done = 0;
			return i;
		}
	}
	return -1;
}

/* One hook of a concurrent list. */
typedef struct {
	const async_job_t *job;
	size_t index;
	pdc_outcome_t out;
} one_hook_t;

static void *one_main(void *arg)
{
	one_hook_t *one = arg;

	pthread_setname_np(pthread_self(), "prep-deno-hook");
	pdc_run_hooks(&one->job->cfg,
		      (const char *const *)&one->job->paths[one->index], 1,
		      one->job->envp, NULL, NULL, &one->out);
	return NULL;
}

/*
 * Every hook at once; the outcome is the first failure in configured
 * order, else the last success. A hook whose thread cannot start runs on
 * this one.
 */
static void run_concurrently(const async_job_t *job, pdc_outcome_t *out)
{
	one_hook_t *ones = calloc(job->n_paths, sizeof(*ones));
	pthread_t *tids = calloc(job->n_paths, sizeof(*tids));
	int *started = calloc(job->n_paths, sizeof(*started));
	size_t pick = 0;

	if (!ones || !tids || !started) {
		free(ones);
		free(tids);
		free(started);
		pdc_run_hooks(&job->cfg, (const char *const *)job->paths,
			      job->n_paths, job->envp, NULL, NULL, out);
		return;
	}
	for (size_t i = 0; i < job->n_paths; i++) {
		ones[i].job = job;
		ones[i].index = i;
		started[i] = !pthread_create(&tids[i], NULL, one_main, &ones[i]);
	}
	for (size_t i = 0; i < job->n_paths; i++) {
		if (started[i])
			pthread_join(tids[i], NULL);
		else
			one_main(&ones[i]);
	}
	for (pick = 0; pick + 1 < job->n_paths; pick++)
		if (ones[pick].out.status)
			break;
	*out = ones[pick].out;
	for (size_t i = 0; i < job->n_paths; i++)
		if (i != pick)
			pdc_outcome_free(&ones[i].out);
	free(ones);
	free(tids);
	free(started);
}

static void *async_main(void *arg)
{
	async_job_t *job = arg;
	pdc_outcome_t out;
	int slot = job->slot;

	/* Named, so a daemon's thread list (and the tests) can tell them. */
	pthread_setname_np(pthread_self(), "prep-deno-hook");
	if (job->cfg.concurrent && job->n_paths > 1)
		run_concurrently(job, &out);
	else
		pdc_run_hooks(&job->cfg, (const char *const *)job->paths,
			      job->n_paths, job->envp, NULL, NULL, &out);

	job->done(job->done_arg, job->job_id, &out);
	pdc_outcome_free(&out);
	async_job_free(job);
	finish_one(slot);
	return NULL;
}

int pdc_run_hooks_async(const pdc_config_t *cfg, const char *const *paths,
			size_t n_paths, char *const *envp, uint32_t job_id,
			pdc_done_fn done, void *done_arg)
{
	async_job_t *job = calloc(1, sizeof(*job));
	pthread_attr_t attr;
	pthread_t tid;
	int rc = -1;

	int slot;

	pthread_mutex_lock(&core_lock);
	inflight++;
	reap_threads();
	slot = claim_slot();
	pthread_mutex_unlock(&core_lock);
	if (job && slot >= 0) {
		job->slot = slot;
		job->cfg = *cfg;
		job->cfg.job_id = job_id;
		job->cfg.runner = strdup_or_null(cfg->runner);
		job->cfg.warm_socket = strdup_or_null(cfg->warm_socket);
		job->cfg.slurm_conf = strdup_or_null(cfg->slurm_conf);
		job->paths = pdc_dup_strv(paths, n_paths);
		job->n_paths = n_paths;
		job->envp = pdc_dup_strv((const char *const *)envp,
				     pdc_strv_len(envp));
		job->job_id = job_id;
		job->done = done;
		job->done_arg = done_arg;
		if (job->paths && job->envp && !pthread_attr_init(&attr)) {
			/* Under the lock: the thread cannot be marked done (and
			 * reaped) before its id is recorded. */
			pthread_mutex_lock(&core_lock);
			rc = pthread_create(&tid, &attr, async_main, job);
			if (!rc)
				threads[slot].tid = tid;
			pthread_mutex_unlock(&core_lock);
			pthread_attr_destroy(&attr);
		}
	}
	if (rc) {
		/* Could not start: still answer, exactly once. */
		pdc_outcome_t out = {
			.status = 127,
			.output = strdup("prep/deno: cannot start a thread "
					 "for the hook\n"),
		};

		done(done_arg, job_id, &out);
		pdc_outcome_free(&out);
		if (job)
			async_job_free(job);
		pthread_mutex_lock(&core_lock);
		if (slot >= 0)
			threads[slot].used = 0;
		pthread_mutex_unlock(&core_lock);
		finish_one(-1);
		return -1;
	}
	return 0;
}

int pdc_inflight(void)
{
	int n;

	pthread_mutex_lock(&core_lock);
	n = inflight;
	pthread_mutex_unlock(&core_lock);
	return n;
}

void pdc_deadline(struct timespec *until, int wait_ms)
{
	clock_gettime(CLOCK_REALTIME, until);
	until->tv_sec += wait_ms / 1000;
	until->tv_nsec += (long)(wait_ms % 1000) * 1000000;
	if (until->tv_nsec >= 1000000000) {
		until->tv_sec++;
		until->tv_nsec -= 1000000000;
	}
}

int pdc_shutdown(int wait_ms)
{
	struct timespec until;
	int left;

	pdc_deadline(&until, wait_ms);
	pdc_kill_all();
	pthread_mutex_lock(&core_lock);
	while (inflight > 0 &&
	       pthread_cond_timedwait(&core_idle, &core_lock, &until) == 0)
		;
	reap_threads();
	left = inflight;
	pthread_mutex_unlock(&core_lock);
	return left;
}
