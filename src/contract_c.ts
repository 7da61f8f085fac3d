// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The C side of the contract, generated from its one source, src/contract.ts:
 * `ffi/prep_deno_contract.h` (the plugin's) and `src/launcher/contract.h`
 * (the native launcher's). Both are committed; `deno task build` writes
 * them (`writeContractHeaders`), `deno task build-plugin` checks them
 * (`scripts/contract.ts --check`) and `tests/ffi/structure_test.ts` fails
 * when one is stale.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractHeaders } from "./contract_c.ts";
 * const plugin = contractHeaders().find((h) => h.path === "ffi/prep_deno_contract.h")!;
 * assert.match(plugin.text, /#define PD_EXIT_TIMEOUT 124/);
 * ```
 *
 * @module
 */

import { dirname, join } from "node:path";
import {
  CAUSE_MARKER,
  CONTEXT_VAR,
  CRED_VARS,
  DEFAULT_RUNNER,
  DEFAULT_SOCKET,
  EXIT,
  HOOK_CONTEXTS,
  HOOK_KINDS,
  LAUNCHER,
  MAX_OUTPUT,
  MESSAGE_PREFIX,
  NUMBERS,
  OUTCOME_FD,
  OUTCOME_MAGIC,
  OUTCOME_MAX,
  REASON_MAX,
  RUNNER_GRACE_SECONDS,
  TRUNCATION_NOTE,
  WARM_FIELDS,
  WARM_MAGIC,
  WARM_MAX_FRAME,
} from "./contract.ts";

/** One generated file: its path from the top of the tree, and its text. */
export interface GeneratedHeader {
  readonly path: string;
  readonly text: string;
}

/** A C string literal (the values are ASCII; JSON's escapes are C's). */
const str = (s: string): string => JSON.stringify(s);

const GENERATED = (what: string) =>
  `// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * GENERATED from src/contract.ts by src/contract_c.ts: do not edit. Change
 * src/contract.ts, then \`deno task build\` writes this file again;
 * tests/ffi/structure_test.ts fails while it is stale.
 *
 * ${what}
 */`;

const EXIT_NOTES: Record<keyof typeof EXIT, string> = {
  FAILED: "the hook threw or returned a bad value",
  USAGE: "bad command line",
  TIMEOUT: "ran past --timeout",
  OUT_OF_MEMORY: "hit --heap-mb, --memory-mb or --tasks-max",
  SANDBOX: "bad policy, no bwrap",
  NOT_FOUND: "no such module; prep/script's 127",
};

function exitDefines(): string {
  return Object.entries(EXIT)
    .map(([k, v]) => `#define PD_EXIT_${k} ${v} /* ${EXIT_NOTES[k as keyof typeof EXIT]} */`)
    .join("\n");
}

function numbers(): string {
  const rows = Object.entries(NUMBERS).map(([key, n]) =>
    `\tX(${key.toUpperCase()}, ${str(key)}, ${str(n.flag)}, ${n.min}, ${n.max}, ${n.default})`
  );
  return `/*
 * Every number PrEpParameters takes: one table, X(enum suffix, key, flag,
 * min, max, default), whole numbers only (src/contract.ts NUMBERS). The
 * hook's limits are also runner flags (\`run\`, \`try\`, \`serve\`); the
 * journal's (flag "") are the plugin's alone. Default 0: the runner's
 * default is computed (memory_mb: the heap limit +
 * LAUNCHER.DEFAULT_MEMORY_HEADROOM_MB). tasks_max counts threads too (the
 * pids controller does): Deno alone holds a few per CPU. journal_output_kb
 * stops at PD_MAX_OUTPUT (1 MiB): no run has more output.
 */
#define PD_NUMBERS(X) \\
${rows.join(" \\\n")}

/* Each number's default, PD_NUMBER_DEFAULT_<suffix>, from the table. */
enum {
#define PD_NUMBER_DEFAULT_ROW(suffix, key, flag, min, max, def) \\
\tPD_NUMBER_DEFAULT_##suffix = def,
\tPD_NUMBERS(PD_NUMBER_DEFAULT_ROW)
#undef PD_NUMBER_DEFAULT_ROW
};`;
}

function warmFields(): string {
  return WARM_FIELDS.map((f) =>
    `\tX(${f.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase()}, ${str(f)})`
  ).join(" \\\n");
}

function hookContexts(): string {
  const rows = Object.entries(HOOK_CONTEXTS).map(([c, h]) => `\tX(${str(c)}, ${str(h)})`);
  return `/*
 * The hook that serves each context (the value of PD_CONTEXT_VAR):
 * X(context, hook).
 */
#define PD_HOOK_CONTEXTS(X) \\
${rows.join(" \\\n")}`;
}

/** The plugin's header: what the C plugin and the TypeScript runner share. */
function pluginHeader(): string {
  const cred = CRED_VARS.map((v) => `\tX(${v.replace(/^SLURM_JOB_/, "")}, ${str(v)})`);
  return `${
    GENERATED(`What the C plugin and the TypeScript runner must agree on. tests/ffi/contract_test.ts
 * also loads the built plugin and compares its values, through
 * prep_deno_contract_json(), with src/contract.ts.`)
  }
/*
 * No Slurm header: the core includes this too.
 *
 * THE TIMEOUT STORY (PrologEpilogTimeout, from 25.05 PrologTimeout and
 * EpilogTimeout; T seconds, "forever" when unset):
 *   1. The glue (prep_deno_conf.c) reads T once per call; each hook of a
 *      list gets the whole T, as prep/script gives each script.
 *   2. Shell hook: the core (prep_deno_run.c) arms T and reads the output
 *      pipe until EOF, not merely until the script exits. At T it kills
 *      the script's process group: SIGTERM, 10 ms, SIGKILL (run_command's
 *      order). After a normal EOF it also kills stragglers of the group.
 *   3. TypeScript hook, spawn path: the runner gets \`--timeout T\` and arms
 *      it itself (src/launcher/supervise.c): at T it SIGKILLs every
 *      process of the hook's cgroup and exits PD_EXIT_TIMEOUT (124) with a
 *      "timed out" line. The core arms T + PD_RUNNER_GRACE_S as a backstop
 *      and, past it, SIGTERMs the runner's group (the runner then kills its
 *      cgroup the same way and exits 128+15), and SIGKILLs the group only
 *      PD_RUNNER_STOP_GRACE_MS later. A 124 from the runner counts as
 *      timed out.
 *   4. TypeScript hook, warm path: the core sends T in the request; the
 *      service arms T when the request arrives (src/warm/serve.ts), kills
 *      the hook's warm host process at T and answers 124; the core waits
 *      T + PD_RUNNER_GRACE_S for the answer. No answer before the hook
 *      started: the spawn path runs it; after: it fails, never runs twice.
 *   5. SPANK job prolog/epilog (slurmstepd spank): the slurmd side arms T
 *      and kills its group with SIGKILL.
 *   6. slurmctld hooks: the same as 2-4, on a core thread; nothing else in
 *      slurmctld times them out. fini() (daemon shutdown) SIGKILLs every
 *      running group and waits for the threads, which still call back.
 */
#ifndef PREP_DENO_CONTRACT_H
#define PREP_DENO_CONTRACT_H

/* Exit statuses of the runner for its own failures (EXIT). */
${exitDefines()}

/*
 * Where the runner is unless PrEpParameters=runner=... says otherwise: a
 * source install's place; a package defines its own at build time
 * (scripts/build-plugin.sh PREP_DENO_RUNNER=..., /usr/sbin/prep-deno).
 */
#ifndef PD_DEFAULT_RUNNER
#define PD_DEFAULT_RUNNER ${str(DEFAULT_RUNNER)}
#endif
/* Where the warm service listens unless socket=... says otherwise. */
#define PD_DEFAULT_SOCKET ${str(DEFAULT_SOCKET)}

/*
 * The warm protocol (src/warm/protocol.ts): first field, largest frame. /2:
 * an empty frame before the reply says the hook started (from then on a
 * missing reply is a failure, never a second run through the spawn path).
 * /3: the reply carries the outcome record in a field of its own.
 */
#define PD_WARM_MAGIC ${str(WARM_MAGIC)}
/*
 * The request's header fields, in order, each NUL-terminated, before the
 * job's environment (X(enum suffix, name); src/contract.ts WARM_FIELDS).
 */
#define PD_WARM_FIELDS(X) \\
${warmFields()}
#define PD_WARM_MAX_FRAME ${WARM_MAX_FRAME}

/* Output kept per hook, spawn and warm alike; the rest is dropped. */
#define PD_MAX_OUTPUT ${MAX_OUTPUT}
/* The note that ends a capped output (printf: the bytes dropped, a size_t). */
#define PD_TRUNCATION_NOTE ${str(TRUNCATION_NOTE)}

/* Extra seconds the core gives a TypeScript hook past T (story, 3-4). */
#define PD_RUNNER_GRACE_S ${RUNNER_GRACE_SECONDS}
/*
 * At its own deadline the core SIGTERMs a runner and SIGKILLs it only if
 * it has not exited this many ms later: the runner needs them to kill its
 * cgroup and remove it (story, 3). A shell hook gets run_command's 10 ms.
 * The plugin's alone: no TypeScript reads it.
 */
#define PD_RUNNER_STOP_GRACE_MS 2000

/*
 * The drain reason (PrEpParameters drain_reason=): "<prolog|epilog> <file>:
 * <cause>", at most PD_REASON_MAX bytes, the cause from the outcome record
 * below. The runner prints a line starting with this marker, then the
 * cause, only for a person at a terminal (\`prep-deno try\`, no record
 * descriptor); the plugin never reads it from the output.
 */
#define PD_CAUSE_MARKER ${str(CAUSE_MARKER)}
#define PD_REASON_MAX ${REASON_MAX}

/*
 * The outcome record (src/outcome/outcome_record.ts): one line, these fields
 * tab-separated and escaped, magic kind status hook module job cause
 * message. The plugin hands the runner a pipe as descriptor PD_OUTCOME_FD
 * (\`--outcome-fd 3\`) and the runner writes the record there, never in the
 * hook's output; the warm service puts it in its reply's own field. The
 * drain reason of a module hook is the record's cause, nothing else.
 */
#define PD_OUTCOME_MAGIC ${str(OUTCOME_MAGIC)}
/* The one prefix of the runner's messages: hook, module, job id. */
#define PD_MESSAGE_PREFIX ${str(MESSAGE_PREFIX)}
#define PD_OUTCOME_MAX ${OUTCOME_MAX}
#define PD_OUTCOME_FD ${OUTCOME_FD}

/* SLURM_SCRIPT_CONTEXT, and the variable that names it. */
#define PD_CONTEXT_VAR ${str(CONTEXT_VAR)}
${hookContexts()}

/*
 * Variables the slurmd side takes from the job's credential, in the order
 * prep/script sets them (X(enum suffix, name)). From the newest release
 * each exists in; the glue leaves the others unset on older releases.
 */
#define PD_CRED_VARS(X) \\
${cred.join(" \\\n")}

${numbers()}

/*
 * One check for every number of that table: \`value\` as a whole decimal
 * number within [min, max] of \`key\`. 0 and *out; or -1 and, in \`why\`, the
 * error naming the key, the value and the range, in the words the runner
 * uses too (src/contract.ts numberProblem()): \`heap_mb=-5: not a whole
 * number from 32 to 1048576\`. An unknown key is -1 as well.
 */
extern int pdc_number_check(const char *key, const char *value, long long *out,
\t\t\t    char *why, unsigned long why_len);

/* The contract above as one JSON object (static; do not free). */
extern const char *prep_deno_contract_json(void);

#endif
`;
}

/** The native launcher's header: the values it shares with the TypeScript runner. */
function launcherHeader(): string {
  return `${
    GENERATED(`What the native launcher (build/prep-deno) shares with the TypeScript
 * runner; \`prep-deno __contract\` says the values back
 * (tests/runner/launcher_contract_test.ts). The build's own values (the
 * Deno binary, src/main.ts, Deno's flags, the build id) come as -D from
 * scripts/build.ts.`)
  }
#ifndef PREP_DENO_LAUNCHER_CONTRACT_H
#define PREP_DENO_LAUNCHER_CONTRACT_H

/* Exit statuses of the runner for its own failures (EXIT). */
${exitDefines()}

/* The runner's root-only state under /run (LAUNCHER.RUN_DIR). */
#define PREP_DENO_RUN_DIR ${str(LAUNCHER.RUN_DIR)}
/* Where, inside the view, the entry writes the status it ends with. */
#define PD_STATUS_PATH ${str(LAUNCHER.STATUS_PATH)}
/* First string of an encoded plan. */
#define PD_PLAN_MAGIC ${str(LAUNCHER.PLAN_MAGIC)}
/* --heap-mb when not given, in MiB. */
#define PD_DEFAULT_HEAP_MB ${LAUNCHER.DEFAULT_HEAP_MB}
/* --memory-mb when not given: the heap limit plus this, in MiB. */
#define PD_DEFAULT_MEMORY_HEADROOM_MB ${LAUNCHER.DEFAULT_MEMORY_HEADROOM_MB}
/* Longest --timeout, in seconds. */
#define PD_MAX_TIMEOUT_SECONDS ${LAUNCHER.MAX_TIMEOUT_SECONDS}
/* Most files a plan copies into the sandbox at start. */
#define PD_MAX_SEEDS ${LAUNCHER.MAX_SEEDS}
/* Most grants one plan binds by descriptor. */
#define PD_MAX_FD_BINDS ${LAUNCHER.MAX_FD_BINDS}
/* The broker's socket in the hook's view. */
#define PD_PRIVILEGED_SOCKET ${str(LAUNCHER.PRIVILEGED_SOCKET)}
/*
 * Where V8's flags go: the heap limit's flag (printf: the MiB, a long) right
 * after the first PD_V8_FLAGS_AFTER of the plan's command.
 */
#define PD_V8_FLAGS_AFTER ${str(LAUNCHER.V8_FLAGS_AFTER)}
#define PD_HEAP_FLAG ${str(LAUNCHER.HEAP_FLAG)}

${numbers()}

/* The cause line for a person at a terminal, and the cause's bound. */
#define PD_CAUSE_MARKER ${str(CAUSE_MARKER)}
#define PD_REASON_MAX ${REASON_MAX}
/* The outcome record (src/outcome/outcome_record.ts) and the messages' one prefix. */
#define PD_OUTCOME_MAGIC ${str(OUTCOME_MAGIC)}
#define PD_OUTCOME_MAX ${OUTCOME_MAX}
#define PD_MESSAGE_PREFIX ${str(MESSAGE_PREFIX)}

/* The variable that names the hook's context, and the hook of each. */
#define PD_CONTEXT_VAR ${str(CONTEXT_VAR)}
${hookContexts()}

/*
 * The outcome kinds only the hook call makes: a record from inside the
 * sandbox is taken with one of these alone (X(kind)).
 */
#define PD_HOOK_KINDS(X) \\
${HOOK_KINDS.map((k) => `\tX(${str(k)})`).join(" \\\n")}

#endif
`;
}

/**
 * The generated headers, paths from the top of the tree.
 *
 * @example
 * ```ts
 * import { contractHeaders } from "./contract_c.ts";
 * contractHeaders().map((h) => h.path); // ["ffi/prep_deno_contract.h", "src/launcher/contract.h"]
 * ```
 */
export function contractHeaders(): GeneratedHeader[] {
  return [
    { path: "ffi/prep_deno_contract.h", text: pluginHeader() },
    { path: "src/launcher/contract.h", text: launcherHeader() },
  ];
}

/**
 * The headers of `top` that are not what src/contract.ts generates
 * (missing or different); empty when all are current.
 *
 * @example
 * ```ts
 * import { staleContractHeaders } from "./contract_c.ts";
 * staleContractHeaders(new URL("..", import.meta.url).pathname); // [] in a clean tree
 * ```
 */
export function staleContractHeaders(top: string): string[] {
  return contractHeaders().filter((h) => {
    try {
      return Deno.readTextFileSync(join(top, h.path)) !== h.text;
    } catch {
      return true;
    }
  }).map((h) => h.path);
}

/**
 * Writes the headers of `top` that are stale (only those: a current file
 * keeps its time, so make-like tools see no change); the paths written.
 *
 * @example
 * ```ts
 * import { writeContractHeaders } from "./contract_c.ts";
 * export function build(top: string) {
 *   for (const path of writeContractHeaders(top)) console.log(`${path}: regenerated`);
 * }
 * ```
 */
export function writeContractHeaders(top: string): string[] {
  // A tree without a header's folder (the package's runner tree has src/
  // but not ffi/: the plugin ships built) has nothing to build from it.
  const present = (path: string) => {
    try {
      return Deno.statSync(join(top, dirname(path))).isDirectory;
    } catch {
      return false;
    }
  };
  const stale = staleContractHeaders(top).filter(present);
  for (const h of contractHeaders()) {
    if (stale.includes(h.path)) Deno.writeTextFileSync(join(top, h.path), h.text);
  }
  return stale;
}
