// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * What the library says about itself (`prep_deno_contract_json()`,
 * `prep_deno_ffi_layout_json()`), checked against what the binding writes
 * and reads before anything else is called.
 *
 * @example
 * ```ts
 * import { PrepPlugin } from "./mod.ts";
 * await using plugin = PrepPlugin.open("build/prep_deno.so"); // throws on a layout mismatch
 * plugin.layouts.pdc_config_t.size;
 * ```
 *
 * @module
 */

import { CRED_VARS } from "../src/contract.ts";
import { PrepCallType } from "./types.ts";

/** What the library says about itself: its contract and the layouts of its structs. */
export interface Layouts {
  pdc_config_t: {
    size: number;
    runner: number;
    timeout_s: number;
    heap_mb: number;
    warm_socket: number;
    concurrent: number;
    kill_tag: number;
    memory_mb: number;
    tasks_max: number;
    slurm_conf: number;
  };
  pdc_outcome_t: {
    size: number;
    status: number;
    timed_out: number;
    output: number;
    failed_path: number;
    fallback: number;
    record: number;
  };
  pdc_slurmd_job_t: { size: number; cred: number; late_user_name: number; credCount: number };
  prep_callbacks_t: { size: number; prolog_slurmctld: number; epilog_slurmctld: number };
  prep_call_type_t: Record<string, number>;
  job_env_t: { size: number };
}

/** The library's `prep_deno_contract_json()`, parsed. */
export interface LibraryContract {
  exit: Record<string, number>;
  defaultRunner: string;
  defaultSocket: string;
  warmMagic: string;
  warmMaxFrame: number;
  maxOutput: number;
  truncationNote: string;
  runnerGraceSeconds: number;
  causeMarker: string;
  reasonMax: number;
  outcomeMagic: string;
  outcomeMax: number;
  outcomeFd: number;
  messagePrefix: string;
  contextVar: string;
  credVars: string[];
  numbers: Record<string, { flag: string; min: number; max: number; default: number }>;
  layout: Pick<Layouts, "pdc_config_t" | "pdc_outcome_t" | "pdc_slurmd_job_t">;
}

/** The fields of `pdc_slurmd_job_t` before `cred`, in order (all pointers). */
export const SLURMD_JOB_HEAD = [
  "spankEnv",
  "gresEnv",
  "nodeName",
  "confFile",
  "clusterName",
  "jobId",
  "sluid",
  "uid",
  "gid",
  "workDir",
  "userName",
  "hetJobId",
  "nodeAliases",
  "nodeList",
  "jobNodelist",
  "partition",
  "context",
  "exitCode",
  "derivedEc",
] as const;

/**
 * Checks what this binding writes and reads against the library's own
 * numbers; throws naming the first difference (a plugin built from other
 * sources than this binding).
 */
export function checkLayouts(path: string, c: LibraryContract, ffi: Layouts): Layouts {
  const want: [string, number | undefined, number][] = [
    ["pdc_config_t.runner", c.layout?.pdc_config_t?.runner, 0],
    ["pdc_config_t.timeout_s", c.layout?.pdc_config_t?.timeout_s, 8],
    ["pdc_config_t.heap_mb", c.layout?.pdc_config_t?.heap_mb, 12],
    ["pdc_config_t.warm_socket", c.layout?.pdc_config_t?.warm_socket, 16],
    ["pdc_outcome_t.status", c.layout?.pdc_outcome_t?.status, 0],
    ["pdc_outcome_t.timed_out", c.layout?.pdc_outcome_t?.timed_out, 4],
    ["pdc_outcome_t.output", c.layout?.pdc_outcome_t?.output, 8],
    ["pdc_outcome_t.failed_path", c.layout?.pdc_outcome_t?.failed_path, 16],
    ["pdc_outcome_t.fallback", c.layout?.pdc_outcome_t?.fallback, 24],
    ["pdc_outcome_t.record", c.layout?.pdc_outcome_t?.record, 32],
    ["pdc_slurmd_job_t.cred", c.layout?.pdc_slurmd_job_t?.cred, SLURMD_JOB_HEAD.length * 8],
    ["pdc_slurmd_job_t.credCount", c.layout?.pdc_slurmd_job_t?.credCount, CRED_VARS.length],
    [
      "pdc_slurmd_job_t.size",
      c.layout?.pdc_slurmd_job_t?.size,
      (SLURMD_JOB_HEAD.length + CRED_VARS.length + 1) * 8,
    ],
    ["prep_callbacks_t.size", ffi?.prep_callbacks_t?.size, 16],
    ["prep_callbacks_t.prolog_slurmctld", ffi?.prep_callbacks_t?.prolog_slurmctld, 0],
    ["prep_callbacks_t.epilog_slurmctld", ffi?.prep_callbacks_t?.epilog_slurmctld, 8],
    ["PREP_PROLOG", ffi?.prep_call_type_t?.PREP_PROLOG, PrepCallType.Prolog],
    ["PREP_EPILOG", ffi?.prep_call_type_t?.PREP_EPILOG, PrepCallType.Epilog],
    [
      "PREP_PROLOG_SLURMCTLD",
      ffi?.prep_call_type_t?.PREP_PROLOG_SLURMCTLD,
      PrepCallType.PrologSlurmctld,
    ],
    [
      "PREP_EPILOG_SLURMCTLD",
      ffi?.prep_call_type_t?.PREP_EPILOG_SLURMCTLD,
      PrepCallType.EpilogSlurmctld,
    ],
  ];
  for (const [name, lib, mine] of want) {
    if (lib !== mine) {
      throw new Error(
        `${path}: ${name} is ${lib} in the library but ${mine} in ffi/binding.ts: ` +
          "rebuild the plugin from this tree (deno task build-plugin)",
      );
    }
  }
  if (c.credVars?.join() !== CRED_VARS.join()) {
    throw new Error(
      `${path}: credential variables differ from src/contract.ts: rebuild the plugin from this tree`,
    );
  }
  if (!(ffi?.job_env_t?.size > 0)) throw new Error(`${path}: job_env_t has no size`);
  return { ...ffi, ...c.layout };
}

export function cJson<T>(p: Deno.PointerValue): T {
  if (!p) throw new Error("the library returned no JSON");
  return JSON.parse(Deno.UnsafePointerView.getCString(p)) as T;
}
