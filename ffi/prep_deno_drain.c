// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prep/deno, slurmd side: why was my node drained. When a Prolog or Epilog
 * fails, slurmctld drains the node with "Prolog error" / "Epilog error",
 * unless the node is draining already: then it keeps the reason it has
 * (node_mgr.c _drain_node). So this drains the node first, with
 * "<cause> (<prolog|epilog> <file>)", before the plugin returns the
 * failure: the cause first, so sinfo -R's default 20 columns show it. A
 * node already drained keeps its reason (the first failure's, as under
 * prep/script): this asks slurmctld for the node first.
 *
 * The cause: for a TypeScript hook, the cause field of its outcome record
 * (out->record: the runner's descriptor or the warm reply's own field,
 * never the hook's output); with drain_reason=all, the last line of a
 * shell hook's output; else how it ended.
 *
 * Cost: one RPC to slurmctld per failing hook call (none on success). It
 * runs on a thread of its own and the hook call waits for it at most
 * DRAIN_WAIT_MS: a dead or slow controller never holds slurmd longer; the
 * node then gets Slurm's own reason.
 */
#include "prep_deno_slurmd.h"
#include "prep_deno_observe.h"

#include <errno.h>
#include <libgen.h>
#include <pthread.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "src/common/run_in_daemon.h"
#include "src/common/xmalloc.h"
#include "src/common/xstring.h"
#include "src/slurmd/slurmd/slurmd.h"

#define DRAIN_WAIT_MS 3000

extern slurmd_conf_t *conf;

static pthread_mutex_t drain_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t drain_cond = PTHREAD_COND_INITIALIZER;
static int drains_running;

typedef struct {
	char *node;
	char *reason;
	char *kept; /* the node was drained already, with this reason */
	int done;
	int refs; /* the waiter and the thread */
	int rc;
} drain_req_t;

static void drain_req_put(drain_req_t *req)
{
	/* drain_lock held */
	if (--req->refs == 0) {
		xfree(req->node);
		xfree(req->reason);
		xfree(req->kept);
		xfree(req);
	}
}

static void *drain_main(void *arg)
{
	drain_req_t *req = arg;
	update_node_msg_t msg;
	int rc;

	node_info_msg_t *nodes = NULL;
	char *kept = NULL;

	/* A drained node keeps its first reason, as slurmctld keeps it for
	 * prep/script; an update would replace it. */
	if (!slurm_load_node_single(&nodes, req->node, SHOW_ALL) && nodes &&
	    nodes->record_count && (nodes->node_array[0].node_state &
				    NODE_STATE_DRAIN) &&
	    nodes->node_array[0].reason && nodes->node_array[0].reason[0])
		kept = xstrdup(nodes->node_array[0].reason);
	if (nodes)
		slurm_free_node_info_msg(nodes);
	if (kept) {
		rc = 0;
	} else {
		slurm_init_update_node_msg(&msg);
		msg.node_names = req->node;
		msg.node_state = NODE_STATE_DRAIN;
		msg.reason = req->reason;
		rc = slurm_update_node(&msg) ? errno : 0;
	}

	pthread_mutex_lock(&drain_lock);
	req->rc = rc;
	req->kept = kept;
	req->done = 1;
	drains_running--;
	pthread_cond_broadcast(&drain_cond);
	drain_req_put(req);
	pthread_mutex_unlock(&drain_lock);
	return NULL;
}

/* The last line of `text` starting with `marker` (marker skipped), or with
 * marker NULL the last non-empty line; NULL if none. xfree it. */
static char *last_line(const char *text, const char *marker)
{
	const char *found = NULL, *end = NULL;

	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');
		const char *stop = nl ? nl : line + strlen(line);

		if (marker ? !strncmp(line, marker, strlen(marker)) :
			     stop > line) {
			found = marker ? line + strlen(marker) : line;
			end = stop;
		}
		line = nl ? nl + 1 : NULL;
	}
	if (!found)
		return NULL;
	return xstrndup(found, (size_t)(end - found));
}

/* "<cause> (<what> <file>)" in PD_REASON_MAX bytes, the cause cut first. */
static char *bounded(const char *cause, const char *what, const char *file)
{
	char *tail = NULL, *reason = NULL;
	size_t room;

	xstrfmtcat(tail, " (%s %s)", what, file);
	room = strlen(tail) < PD_REASON_MAX ? PD_REASON_MAX - strlen(tail) : 0;
	xstrfmtcat(reason, "%.*s%s", (int)room, cause, tail);
	xfree(tail);
	if (strlen(reason) > PD_REASON_MAX)
		reason[PD_REASON_MAX] = '\0';
	return reason;
}

/* Field 6 of an outcome record line (PD_OUTCOME_MAGIC), its cause; NULL if empty. */
static char *record_cause(const char *record)
{
	const char *p = record;

	for (int i = 0; p && i < 6; i++)
		if ((p = strchr(p, '\t')))
			p++;
	if (!p || *p == '\t' || !*p)
		return NULL;
	return xstrndup(p, strcspn(p, "\t"));
}

/* "<cause> (<what> <file>)", bounded (the cause is cut, the hook kept),
 * printable. */
static char *make_reason(const char *what, const pdc_outcome_t *out)
{
	bool module = out->failed_path && pdc_is_module(out->failed_path);
	char *cause = NULL, *reason = NULL, *copy;

	if (module && out->record)
		cause = record_cause(out->record);
	else if (!module && prep_deno_params.drain_reason == PD_DRAIN_ALL)
		cause = last_line(out->output, NULL);
	if (!cause && !module && prep_deno_params.drain_reason != PD_DRAIN_ALL)
		return NULL;
	if (!cause) {
		if (out->timed_out)
			cause = xstrdup("timed out");
		else if (WIFEXITED(out->status))
			cause = xstrdup_printf("exit status %d",
					       WEXITSTATUS(out->status));
		else if (WIFSIGNALED(out->status))
			cause = xstrdup_printf("killed by signal %d",
					       WTERMSIG(out->status));
		else if (!module && (cause = last_line(out->output, "prep/deno: ")))
			; /* the core's "cannot execute PATH: why" */
		else
			cause = xstrdup("could not run");
	}
	copy = xstrdup(out->failed_path ? out->failed_path : "");
	reason = bounded(cause, what, basename(copy));
	xfree(copy);
	xfree(cause);
	for (char *p = reason; *p; p++)
		if ((unsigned char)*p < ' ')
			*p = ' ';
	return reason;
}

/* Drains this node with `reason` (xfree'd here), waiting DRAIN_WAIT_MS;
 * a set reason is journalled against `what` and `path`. */
static void drain_node(uint32_t job_id, char *reason, const char *what,
		       const char *path)
{
	drain_req_t *req;
	pthread_t tid;
	struct timespec until;

	req = xmalloc(sizeof(*req));
	req->node = xstrdup(conf->node_name);
	req->reason = reason;
	req->refs = 2;
	pthread_mutex_lock(&drain_lock);
	drains_running++;
	if (pthread_create(&tid, NULL, drain_main, req)) {
		drains_running--;
		req->refs = 1;
		drain_req_put(req);
		pthread_mutex_unlock(&drain_lock);
		error("prep/deno: [job %u] cannot start the drain request", job_id);
		return;
	}
	pthread_detach(tid);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += DRAIN_WAIT_MS / 1000;
	while (!req->done &&
	       pthread_cond_timedwait(&drain_cond, &drain_lock, &until) == 0)
		;
	if (!req->done)
		error("prep/deno: [job %u] slurmctld did not answer the drain "
		      "request in %d ms; the node gets Slurm's own reason",
		      job_id, DRAIN_WAIT_MS);
	else if (req->rc)
		error("prep/deno: [job %u] cannot set the node's reason \"%s\": %s",
		      job_id, req->reason, slurm_strerror(req->rc));
	else if (req->kept)
		info("prep/deno: [job %u] node %s is drained already: keeps "
		     "its reason \"%s\" (not \"%s\")", job_id, req->node,
		     req->kept, req->reason);
	else {
		info("prep/deno: [job %u] node %s drained: %s", job_id,
		     req->node, req->reason);
		pdc_observe_reason(job_id, what, path, req->reason);
	}
	drain_req_put(req);
	pthread_mutex_unlock(&drain_lock);
}

/* Only a daemon of the cluster may drain a node of it. */
static bool may_drain(void)
{
	return prep_deno_params.drain_reason != PD_DRAIN_NO &&
	       running_in_daemon() && conf && conf->node_name;
}

void pd_drain_with_reason(const char *what, uint32_t job_id,
			  const pdc_outcome_t *out)
{
	char *reason;

	if (may_drain() && (reason = make_reason(what, out)))
		drain_node(job_id, reason, what, out->failed_path);
}

void pd_drain_missing(const char *what, uint32_t job_id, const char *pattern)
{
	char *copy, *reason = NULL;

	if (!may_drain() || (!pdc_is_module(pattern) &&
			     prep_deno_params.drain_reason != PD_DRAIN_ALL))
		return;
	copy = xstrdup(pattern);
	reason = bounded("no such file", what, basename(copy));
	xfree(copy);
	drain_node(job_id, reason, what, pattern);
}

int pd_drain_shutdown(int wait_ms)
{
	struct timespec until;
	int left;

	pdc_deadline(&until, wait_ms);
	pthread_mutex_lock(&drain_lock);
	while (drains_running &&
	       pthread_cond_timedwait(&drain_cond, &drain_lock, &until) == 0)
		;
	left = drains_running;
	pthread_mutex_unlock(&drain_lock);
	return left;
}
