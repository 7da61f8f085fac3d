// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The contract of prep_deno_contract.h as JSON, so TypeScript can check its
 * mirror (src/contract.ts) and its struct layouts against the very library
 * it loads, instead of trusting numbers written twice.
 */
#include "prep_deno_contract.h"

#include <stddef.h>

#include "prep_deno_core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PD_CRED_JSON(suffix, name) "\"" name "\","
#define PD_NUMBER_JSON(suffix, key, flag, min, max, def)                   \
	"\"" key "\":{\"flag\":\"" flag "\",\"min\":" #min ",\"max\":" #max \
	",\"default\":" #def "},"

static const struct {
	const char *key;
	long long min, max;
} numbers[] = {
#define PD_NUMBER_ROW(suffix, key, flag, min, max, def) { key, min, max },
	PD_NUMBERS(PD_NUMBER_ROW)
#undef PD_NUMBER_ROW
};

int pdc_number_check(const char *key, const char *value, long long *out,
		     char *why, unsigned long why_len)
{
	unsigned long long v;
	char *end;

	for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
		if (strcmp(key, numbers[i].key))
			continue;
		/* Digits only: strtoull would take a sign, spaces and wrap. */
		errno = 0;
		v = value[0] && strspn(value, "0123456789") == strlen(value) ?
			    strtoull(value, &end, 10) : 0;
		if (!value[0] || strspn(value, "0123456789") != strlen(value) ||
		    errno || v < (unsigned long long)numbers[i].min ||
		    v > (unsigned long long)numbers[i].max) {
			snprintf(why, why_len,
				 "%s=%.64s%s: not a whole number from %lld to %lld",
				 key, value, strlen(value) > 64 ? "..." : "",
				 numbers[i].min, numbers[i].max);
			return -1;
		}
		*out = (long long)v;
		return 0;
	}
	snprintf(why, why_len, "%s: not a number this plugin takes", key);
	return -1;
}

/* Built on first use: offsetof() is no preprocessor number. */
static char contract[4096];

/* `s` as the inside of a JSON string (it has no quotes or backslashes). */
static const char *json_newlines(const char *s)
{
	static char out[256];
	size_t n = 0;

	for (; *s && n + 3 < sizeof(out); s++) {
		if (*s == '\n') {
			out[n++] = '\\';
			out[n++] = 'n';
		} else {
			out[n++] = *s;
		}
	}
	out[n] = '\0';
	return out;
}

const char *prep_deno_contract_json(void)
{
	/* The names as a JSON list; the last comma is cut by the %.*s. */
	static const char cred_vars[] = PD_CRED_VARS(PD_CRED_JSON);
	static const char number_table[] = PD_NUMBERS(PD_NUMBER_JSON);

	if (contract[0])
		return contract;
	snprintf(contract, sizeof(contract),
		 "{\"exit\":{\"FAILED\":%d,\"USAGE\":%d,\"TIMEOUT\":%d,"
		 "\"OUT_OF_MEMORY\":%d,\"SANDBOX\":%d,\"NOT_FOUND\":%d},"
		 "\"defaultRunner\":\"%s\",\"defaultSocket\":\"%s\","
		 "\"warmMagic\":\"%s\",\"warmMaxFrame\":%d,"
		 "\"maxOutput\":%d,\"truncationNote\":\"%s\","
		 "\"runnerGraceSeconds\":%d,"
		 "\"causeMarker\":\"%s\",\"reasonMax\":%d,"
		 "\"outcomeMagic\":\"%s\",\"outcomeMax\":%d,\"outcomeFd\":%d,"
		 "\"messagePrefix\":\"%s\","
		 "\"contextVar\":\"%s\",\"credVars\":[%.*s],"
		 "\"numbers\":{%.*s},"
		 "\"layout\":{"
		 "\"pdc_config_t\":{\"size\":%zu,\"runner\":%zu,\"timeout_s\":%zu,"
		 "\"heap_mb\":%zu,\"warm_socket\":%zu,\"concurrent\":%zu,"
		 "\"kill_tag\":%zu,\"memory_mb\":%zu,\"tasks_max\":%zu,\"slurm_conf\":%zu},"
		 "\"pdc_outcome_t\":{\"size\":%zu,\"status\":%zu,\"timed_out\":%zu,"
		 "\"output\":%zu,\"failed_path\":%zu,\"fallback\":%zu,\"record\":%zu},"
		 "\"pdc_slurmd_job_t\":{\"size\":%zu,\"cred\":%zu,"
		 "\"late_user_name\":%zu,\"credCount\":%d}}}",
		 PD_EXIT_FAILED, PD_EXIT_USAGE, PD_EXIT_TIMEOUT,
		 PD_EXIT_OUT_OF_MEMORY, PD_EXIT_SANDBOX, PD_EXIT_NOT_FOUND,
		 PD_DEFAULT_RUNNER, PD_DEFAULT_SOCKET, PD_WARM_MAGIC,
		 PD_WARM_MAX_FRAME, PD_MAX_OUTPUT,
		 json_newlines(PD_TRUNCATION_NOTE), PD_RUNNER_GRACE_S,
		 PD_CAUSE_MARKER, PD_REASON_MAX, PD_OUTCOME_MAGIC, PD_OUTCOME_MAX,
		 PD_OUTCOME_FD, PD_MESSAGE_PREFIX, PD_CONTEXT_VAR,
		 (int)(sizeof(cred_vars) - 2), cred_vars,
		 (int)(sizeof(number_table) - 2), number_table,
		 sizeof(pdc_config_t), offsetof(pdc_config_t, runner),
		 offsetof(pdc_config_t, timeout_s),
		 offsetof(pdc_config_t, heap_mb),
		 offsetof(pdc_config_t, warm_socket),
		 offsetof(pdc_config_t, concurrent),
		 offsetof(pdc_config_t, kill_tag),
		 offsetof(pdc_config_t, memory_mb),
		 offsetof(pdc_config_t, tasks_max),
		 offsetof(pdc_config_t, slurm_conf),
		 sizeof(pdc_outcome_t), offsetof(pdc_outcome_t, status),
		 offsetof(pdc_outcome_t, timed_out),
		 offsetof(pdc_outcome_t, output),
		 offsetof(pdc_outcome_t, failed_path),
		 offsetof(pdc_outcome_t, fallback),
		 offsetof(pdc_outcome_t, record),
		 sizeof(pdc_slurmd_job_t), offsetof(pdc_slurmd_job_t, cred),
		 offsetof(pdc_slurmd_job_t, late_user_name), PDC_CRED_N);
	return contract;
}
