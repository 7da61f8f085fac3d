// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prep/deno core: one hook run as the journal's JSON record and the
 * metrics' labels. The record is built here, by the plugin, from what the
 * core saw (wait status, output, timing): nothing a hook prints can forge
 * a field, only the cause line the runner put in the output.
 */
#define _GNU_SOURCE
#include "prep_deno_observe.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A growing string. */
typedef struct {
	char *s;
	size_t len, cap;
	int failed;
} sbuf_t;

static void sb_add(sbuf_t *b, const char *p, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 1024;
		char *g;

		while (cap < b->len + n + 1)
			cap *= 2;
		if (!(g = realloc(b->s, cap))) {
			b->failed = 1;
			return;
		}
		b->s = g;
		b->cap = cap;
	}
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void sb_fmt(sbuf_t *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void sb_fmt(sbuf_t *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		sb_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* A JSON string of p[0..n) (bytes >= 0x80 pass as they are). */
static void sb_json(sbuf_t *b, const char *p, size_t n)
{
	size_t run = 0;

	sb_add(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f) {
			run++;
			continue;
		}
		sb_add(b, p + i - run, run);
		run = 0;
		if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };
			sb_add(b, e, 2);
		} else if (c == '\n') {
			sb_add(b, "\\n", 2);
		} else {
			sb_fmt(b, "\\u%04x", c);
		}
	}
	sb_add(b, p + n - run, run);
	sb_add(b, "\"", 1);
}

static void sb_key_str(sbuf_t *b, const char *key, const char *v)
{
	sb_fmt(b, ",\"%s\":", key);
	if (v)
		sb_json(b, v, strlen(v));
	else
		sb_add(b, "null", 4);
}

static const char *env_get(char *const *envp, const char *key)
{
	size_t k = strlen(key);

	for (size_t i = 0; envp && envp[i]; i++)
		if (!strncmp(envp[i], key, k) && envp[i][k] == '=')
			return envp[i] + k + 1;
	return NULL;
}

const char *pdc_hook_name(char *const *envp, char *buf, size_t size)
{
	const char *ctx = env_get(envp, PD_CONTEXT_VAR);
	size_t n;

	if (!ctx || !*ctx)
		return "hook";
	n = strlen(ctx);
	if (n > 7 && !strcmp(ctx + n - 7, "_slurmd"))
		n -= 7; /* "prolog_slurmd" -> "prolog" */
	if (n >= size)
		n = size - 1;
	memcpy(buf, ctx, n);
	buf[n] = '\0';
	return buf;
}

char *pdc_record_field(const char *record, int n)
{
	const char *p = record;

	for (int i = 0; p && i < n; i++)
		if ((p = strchr(p, '\t')))
			p++;
	if (!p || *p == '\t' || !*p || *p == '\n')
		return NULL;
	return strndup(p, strcspn(p, "\t\n"));
}

const char *pdc_cause_kind(const pdc_outcome_t *out,
			   char *buf, size_t size)
{
	int module = out->mode != PDC_MODE_SCRIPT;
	char *kind;

	if (!out->status)
		return "ok";
	if (module && out->record && (kind = pdc_record_field(out->record, 1))) {
		snprintf(buf, size, "%s", kind);
		free(kind);
		return buf;
	}
	if (out->timed_out)
		return "timeout";
	if (WIFSIGNALED(out->status))
		return "signal";
	if (!WIFEXITED(out->status))
		return "not_run";
	if (!module)
		return WEXITSTATUS(out->status) == 127 ? "not_run" : "exit";
	switch (WEXITSTATUS(out->status)) {
	case PD_EXIT_OUT_OF_MEMORY:
		return "memory";
	case PD_EXIT_SANDBOX:
	case PD_EXIT_NOT_FOUND:
		return "refused";
	default:
		return "lost"; /* a runner that left no record */
	}
}

/* The last line of `text` starting with `marker` (skipped), or with marker
 * NULL the last non-empty line; malloc'd or NULL. */
static char *last_line(const char *text, const char *marker)
{
	const char *found = NULL, *end = NULL;
	size_t m = marker ? strlen(marker) : 0;

	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');
		const char *stop = nl ? nl : line + strlen(line);

		if (marker ? !strncmp(line, marker, m) : stop > line) {
			found = line + m;
			end = stop;
		}
		line = nl ? nl + 1 : NULL;
	}
	return found ? strndup(found, (size_t)(end - found)) : NULL;
}

char *pdc_cause_text(const pdc_outcome_t *out)
{
	char *cause = NULL;

	if (!out->status)
		return NULL;
	if (out->mode != PDC_MODE_SCRIPT && out->record &&
	    (cause = pdc_record_field(out->record, 6)))
		return cause;
	if (out->timed_out)
		return strdup("timed out");
	if (WIFEXITED(out->status) && WEXITSTATUS(out->status) != 127)
		return asprintf(&cause, "exit status %d",
				WEXITSTATUS(out->status)) < 0 ? NULL : cause;
	if (WIFSIGNALED(out->status))
		return asprintf(&cause, "killed by signal %d",
				WTERMSIG(out->status)) < 0 ? NULL : cause;
	if ((cause = last_line(out->output, "prep/deno: ")))
		return cause;
	return strdup("could not run");
}

/* The bytes the core dropped past PD_MAX_OUTPUT, from its closing note. */
static size_t core_dropped(const char *output, size_t *kept)
{
	static const char head[] = "\n[prep/deno: output truncated: ";
	const char *note = strstr(output, head);
	size_t dropped = 0;

	*kept = strlen(output);
	if (note && sscanf(note + sizeof(head) - 1, "%zu", &dropped) == 1)
		*kept = (size_t)(note - output);
	return dropped;
}

static const char *mode_name(int mode)
{
	return mode == PDC_MODE_WARM ? "warm" :
	       mode == PDC_MODE_SPAWN ? "spawn" : "script";
}

int pdc_observe_hook(char *const *envp, const char *path,
		     const pdc_outcome_t *out)
{
	char hookbuf[64];
	const char *hook = pdc_hook_name(envp, hookbuf, sizeof(hookbuf));
	char kindbuf[32];
	const char *kind = pdc_cause_kind(out, kindbuf, sizeof(kindbuf));
	char *message = out->record ? pdc_record_field(out->record, 7) : NULL;
	const char *job = env_get(envp, "SLURM_JOB_ID");
	size_t kept, dropped = core_dropped(out->output, &kept);
	size_t cap = pdc_observe.journal_output_max;
	char host[256] = "";
	char *cause;
	sbuf_t b = { 0 };
	int rc;

	pdc_metrics_hook(hook, path, mode_name(out->mode), kind,
			 out->duration_ms, out->timed_out);
	if (!pdc_observe.journal) {
		free(message);
		return 0;
	}
	cause = pdc_cause_text(out);
	if (kept > cap) {
		dropped += kept - cap;
		kept = cap;
	}
	gethostname(host, sizeof(host) - 1);
	sb_fmt(&b, "{\"t\":%lld,\"type\":\"run\"", out->started_ms);
	sb_key_str(&b, "daemon", pdc_observe.daemon);
	sb_key_str(&b, "node", host);
	sb_fmt(&b, ",\"job\":%s", job && *job ? job : "0");
	sb_key_str(&b, "user", env_get(envp, "SLURM_JOB_USER"));
	sb_key_str(&b, "uid", env_get(envp, "SLURM_JOB_UID"));
	sb_key_str(&b, "hook", hook);
	sb_key_str(&b, "module", path);
	sb_key_str(&b, "mode", mode_name(out->mode));
	sb_fmt(&b, ",\"duration_ms\":%d,\"status\":%d", out->duration_ms,
	       out->status);
	if (WIFEXITED(out->status))
		sb_fmt(&b, ",\"exit\":%d", WEXITSTATUS(out->status));
	else if (WIFSIGNALED(out->status))
		sb_fmt(&b, ",\"signal\":%d", WTERMSIG(out->status));
	sb_fmt(&b, ",\"timed_out\":%s", out->timed_out ? "true" : "false");
	sb_key_str(&b, "kind", kind);
	sb_key_str(&b, "cause", cause);
	sb_key_str(&b, "message", message);
	sb_key_str(&b, "fallback", out->fallback);
	sb_add(&b, ",\"output\":", 10);
	sb_json(&b, out->output, kept);
	sb_fmt(&b, ",\"output_dropped\":%zu}", dropped);
	free(cause);
	free(message);
	rc = b.failed ? -1 : pdc_journal_append(b.s, b.len);
	if (rc)
		pdc_metrics_journal_error();
	free(b.s);
	return rc;
}

int pdc_observe_reason(uint32_t job_id, const char *hook, const char *path,
		       const char *reason)
{
	struct timespec ts;
	sbuf_t b = { 0 };
	int rc;

	pdc_metrics_drain(hook);
	if (!pdc_observe.journal)
		return 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	sb_fmt(&b, "{\"t\":%lld,\"type\":\"reason\"",
	       (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	sb_key_str(&b, "daemon", pdc_observe.daemon);
	sb_fmt(&b, ",\"job\":%u", job_id);
	sb_key_str(&b, "hook", hook);
	sb_key_str(&b, "module", path);
	sb_key_str(&b, "reason", reason);
	sb_add(&b, "}", 1);
	rc = b.failed ? -1 : pdc_journal_append(b.s, b.len);
	if (rc)
		pdc_metrics_journal_error();
	free(b.s);
	return rc;
}
