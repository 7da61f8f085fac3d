// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * prep/deno core: the Prometheus textfile (PrEpParameters metrics=PATH) for
 * node_exporter's textfile collector. Counters live in this daemon's
 * memory (a restart starts them at 0, which Prometheus reads as a counter
 * reset) and the whole file is rewritten after each run: written to a
 * temporary file beside it, then renamed over it, so a scrape never reads
 * half a file.
 */
#define _GNU_SOURCE
#include "prep_deno_observe.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_SERIES 256
#define MAX_KINDS 10

/* Upper bounds of the duration histogram, in seconds. */
static const double buckets[] = { 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60 };
#define N_BUCKETS (sizeof(buckets) / sizeof(buckets[0]))

typedef struct {
	char hook[32];
	char mode[8];
	char *module;
	char kinds[MAX_KINDS][12];
	unsigned long long runs[MAX_KINDS];
	unsigned long long timeouts;
	unsigned long long in_bucket[N_BUCKETS]; /* not cumulative */
	unsigned long long count;
	double sum_s;
} series_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static series_t series[MAX_SERIES];
static int n_series;
static struct {
	char hook[32];
	unsigned long long n;
} drains[4];
static unsigned long long journal_errors;

static series_t *find(const char *hook, const char *mode, const char *path)
{
	for (int i = 0; i < n_series; i++)
		if (!strcmp(series[i].hook, hook) &&
		    !strcmp(series[i].mode, mode) &&
		    !strcmp(series[i].module, path))
			return &series[i];
	if (n_series == MAX_SERIES)
		return NULL;
	snprintf(series[n_series].hook, sizeof(series[0].hook), "%s", hook);
	snprintf(series[n_series].mode, sizeof(series[0].mode), "%s", mode);
	series[n_series].module = strdup(path);
	return series[n_series].module ? &series[n_series++] : NULL;
}

/* A label value per the exposition format: \\, \" and \n escaped. */
static void put_label(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', f);
		if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static void labels(FILE *f, const series_t *s)
{
	fputs("{hook=\"", f);
	put_label(f, s->hook);
	fputs("\",module=\"", f);
	put_label(f, s->module);
	fputs("\",mode=\"", f);
	put_label(f, s->mode);
	fputs("\"", f);
}

static void write_body(FILE *f)
{
	const char *d = pdc_observe.daemon;

	fputs("# HELP prep_deno_hook_runs_total Hook runs by how they ended "
	      "(kind=\"ok\" for a success).\n"
	      "# TYPE prep_deno_hook_runs_total counter\n", f);
	for (int i = 0; i < n_series; i++)
		for (int k = 0; k < MAX_KINDS && series[i].kinds[k][0]; k++) {
			fputs("prep_deno_hook_runs_total", f);
			labels(f, &series[i]);
			fprintf(f, ",kind=\"%s\",daemon=\"%s\"} %llu\n",
				series[i].kinds[k], d, series[i].runs[k]);
		}
	fputs("# HELP prep_deno_hook_failures_total Hook runs that failed, "
	      "by cause kind.\n"
	      "# TYPE prep_deno_hook_failures_total counter\n", f);
	for (int i = 0; i < n_series; i++)
		for (int k = 0; k < MAX_KINDS && series[i].kinds[k][0]; k++) {
			if (!strcmp(series[i].kinds[k], "ok"))
				continue;
			fputs("prep_deno_hook_failures_total", f);
			labels(f, &series[i]);
			fprintf(f, ",kind=\"%s\",daemon=\"%s\"} %llu\n",
				series[i].kinds[k], d, series[i].runs[k]);
		}
	fputs("# HELP prep_deno_hook_timeouts_total Hook runs stopped at "
	      "their timeout.\n# TYPE prep_deno_hook_timeouts_total counter\n", f);
	for (int i = 0; i < n_series; i++) {
		fputs("prep_deno_hook_timeouts_total", f);
		labels(f, &series[i]);
		fprintf(f, ",daemon=\"%s\"} %llu\n", d, series[i].timeouts);
	}
	fputs("# HELP prep_deno_hook_duration_seconds How long hook runs took.\n"
	      "# TYPE prep_deno_hook_duration_seconds histogram\n", f);
	for (int i = 0; i < n_series; i++) {
		unsigned long long cum = 0;

		for (size_t b = 0; b < N_BUCKETS; b++) {
			cum += series[i].in_bucket[b];
			fputs("prep_deno_hook_duration_seconds_bucket", f);
			labels(f, &series[i]);
			fprintf(f, ",daemon=\"%s\",le=\"%g\"} %llu\n", d,
				buckets[b], cum);
		}
		fputs("prep_deno_hook_duration_seconds_bucket", f);
		labels(f, &series[i]);
		fprintf(f, ",daemon=\"%s\",le=\"+Inf\"} %llu\n", d,
			series[i].count);
		fputs("prep_deno_hook_duration_seconds_sum", f);
		labels(f, &series[i]);
		fprintf(f, ",daemon=\"%s\"} %.3f\n", d, series[i].sum_s);
		fputs("prep_deno_hook_duration_seconds_count", f);
		labels(f, &series[i]);
		fprintf(f, ",daemon=\"%s\"} %llu\n", d, series[i].count);
	}
	fputs("# HELP prep_deno_node_drains_total Nodes drained with a reason "
	      "prep/deno set.\n# TYPE prep_deno_node_drains_total counter\n", f);
	for (int i = 0; i < 4 && drains[i].hook[0]; i++)
		fprintf(f, "prep_deno_node_drains_total{hook=\"%s\",daemon=\"%s\"} "
			"%llu\n", drains[i].hook, d, drains[i].n);
	fprintf(f, "# HELP prep_deno_journal_write_errors_total Journal records "
		"that could not be written.\n"
		"# TYPE prep_deno_journal_write_errors_total counter\n"
		"prep_deno_journal_write_errors_total{daemon=\"%s\"} %llu\n",
		d, journal_errors);
}

/* Under `lock`: the whole file, to PATH.tmp.TID, renamed over PATH. */
static void write_file(void)
{
	const char *path = pdc_observe.metrics;
	char *tmp = NULL;
	FILE *f;
	int fd;

	if (!path || !*path ||
	    asprintf(&tmp, "%s.tmp.%ld", path, (long)syscall(SYS_gettid)) < 0)
		return;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		  0644);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		if (fd >= 0)
			close(fd);
		free(tmp);
		return;
	}
	write_body(f);
	if (fclose(f) == 0)
		rename(tmp, path);
	else
		unlink(tmp);
	free(tmp);
}

void pdc_metrics_hook(const char *hook, const char *path, const char *mode,
		      const char *kind, int duration_ms, int timed_out)
{
	series_t *s;
	double sec = duration_ms / 1000.0;

	if (!pdc_observe.metrics)
		return;
	pthread_mutex_lock(&lock);
	if ((s = find(hook, mode, path))) {
		int k = 0;

		while (k < MAX_KINDS - 1 && s->kinds[k][0] &&
		       strcmp(s->kinds[k], kind))
			k++;
		snprintf(s->kinds[k], sizeof(s->kinds[k]), "%s", kind);
		s->runs[k]++;
		s->timeouts += timed_out ? 1 : 0;
		s->count++;
		s->sum_s += sec;
		for (size_t b = 0; b < N_BUCKETS; b++)
			if (sec <= buckets[b]) {
				s->in_bucket[b]++;
				break;
			}
	}
	write_file();
	pthread_mutex_unlock(&lock);
}

void pdc_metrics_drain(const char *hook)
{
	int i = 0;

	if (!pdc_observe.metrics)
		return;
	pthread_mutex_lock(&lock);
	while (i < 3 && drains[i].hook[0] && strcmp(drains[i].hook, hook))
		i++;
	snprintf(drains[i].hook, sizeof(drains[i].hook), "%s", hook);
	drains[i].n++;
	write_file();
	pthread_mutex_unlock(&lock);
}

void pdc_metrics_journal_error(void)
{
	pthread_mutex_lock(&lock);
	journal_errors++;
	pthread_mutex_unlock(&lock);
}
