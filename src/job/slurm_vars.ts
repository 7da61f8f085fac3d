// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The variables prep/script hands each hook, per Slurm release (22.05 to
 * 26.05): slurmd side in `src/plugins/prep/script/prep_script_slurmd.c`
 * (`_build_env`), slurmctld side in `src/slurmctld/job_mgr.c`
 * (`job_common_env_vars`) plus `SLURM_SCRIPT_CONTEXT`; the version table of
 * `prep-script-spec.md` §3. The plugin builds the slurmd set in C
 * (`ffi/prep_deno_env.c`, `ffi/prep_deno_slurmd_env.c`, with the release
 * differences in `ffi/prep_deno_version.h`; the credential variables are
 * `CRED_VARS` of `src/contract.ts`); `prep-deno try` fakes it from this
 * table, and the integration suite compares both with a live prep/script.
 *
 * @module
 */

import type { HookName, ScriptContext } from "../types.ts";
import { HOOK_CONTEXTS } from "../contract.ts";

/** Every context, in the order Slurm runs them for a job. */
export const SCRIPT_CONTEXTS: readonly ScriptContext[] = [
  "prolog_slurmctld",
  "prolog_slurmd",
  "epilog_slurmd",
  "epilog_slurmctld",
];

/** The hook export (and permission set) that serves each context (src/contract.ts). */
export const HOOK_FOR_CONTEXT: Readonly<Record<ScriptContext, HookName>> = HOOK_CONTEXTS;

/** Whether `value` names a context. */
export function isScriptContext(value: unknown): value is ScriptContext {
  return typeof value === "string" && Object.hasOwn(HOOK_FOR_CONTEXT, value);
}

/**
 * When Slurm sets a variable: `always` for every job, `when-set` only if the
 * job has that property (comment, array, het job, credential field...).
 */
export type Presence = "always" | "when-set";

/** One row of the table: a variable, its presence per side, a fake value. */
export interface SlurmVar {
  /** Variable name. */
  readonly name: string;
  /** Presence in slurmd contexts (prolog_slurmd, epilog_slurmd); absent if never. */
  readonly slurmd?: Presence;
  /** Presence in slurmctld contexts; absent if never. */
  readonly slurmctld?: Presence;
  /** Only in epilog contexts. */
  readonly epilogOnly?: boolean;
  /** The value `prep-deno try` uses. */
  readonly fake: (job: FakeJob) => string;
  /** First release setting it on the slurmd side, when later than 22.05. */
  readonly slurmdSince?: Release;
  /** First release setting it on the slurmctld side, when later than 22.05. */
  readonly slurmctldSince?: Release;
  /** Last release setting it at all, when it was dropped. */
  readonly until?: Release;
}

/** A Slurm release, `major.minor[.micro]`. */
export type Release = `${number}.${number}` | `${number}.${number}.${number}`;

/** The release `try` and the table's defaults describe unless told otherwise. */
const DEFAULT_RELEASE: Release = "22.05";

/** Compares two releases: negative, zero or positive. */
export function compareRelease(a: Release, b: Release): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

/** What `prep-deno try` knows of its fake job. */
export interface FakeJob {
  /** Job id. */
  id: number;
  /** User name. */
  user: string;
  /** User id. */
  uid: number;
  /** Group id. */
  gid: number;
  /** Group name. */
  group: string;
  /** This host's name. */
  node: string;
}

/** The table. Order follows the Slurm code that sets them. */
export const SLURM_VARS: readonly SlurmVar[] = [
  { name: "SLURMD_NODENAME", slurmd: "always", fake: (j) => j.node },
  { name: "SLURM_CONF", slurmd: "always", fake: () => "/etc/slurm/slurm.conf" },
  {
    name: "SLURM_CLUSTER_NAME",
    slurmd: "always",
    slurmctld: "always",
    fake: () => "cluster",
  },
  { name: "SLURM_JOB_ID", slurmd: "always", slurmctld: "always", fake: (j) => `${j.id}` },
  {
    name: "SLURM_JOB_SLUID",
    slurmd: "when-set",
    slurmctld: "when-set",
    slurmdSince: "25.11",
    slurmctldSince: "25.11",
    fake: () => "",
  },
  { name: "SLURM_JOBID", slurmd: "always", slurmctld: "always", fake: (j) => `${j.id}` },
  { name: "SLURM_JOB_UID", slurmd: "always", slurmctld: "always", fake: (j) => `${j.uid}` },
  { name: "SLURM_JOB_GID", slurmd: "always", slurmctld: "always", fake: (j) => `${j.gid}` },
  { name: "SLURM_JOB_GROUP", slurmctld: "always", fake: (j) => j.group },
  { name: "SLURM_UID", slurmd: "always", fake: (j) => `${j.uid}` },
  { name: "SLURM_JOB_USER", slurmd: "always", slurmctld: "always", fake: (j) => j.user },
  { name: "SLURM_JOB_NAME", slurmctld: "always", fake: () => "try" },
  {
    name: "SLURM_JOB_WORK_DIR",
    slurmd: "always",
    slurmctld: "when-set",
    fake: () => "/tmp",
  },
  { name: "SLURM_NODELIST", slurmd: "always", fake: (j) => j.node },
  {
    name: "SLURM_JOB_NODELIST",
    slurmd: "always",
    slurmctld: "always",
    slurmdSince: "23.02.6",
    fake: (j) => j.node,
  },
  { name: "SLURM_NODE_ALIASES", slurmd: "when-set", until: "23.02", fake: () => "" },
  {
    name: "SLURM_JOB_PARTITION",
    slurmd: "always",
    slurmctld: "always",
    fake: () => "debug",
  },
  { name: "SLURM_SCRIPT_CONTEXT", slurmd: "always", slurmctld: "always", fake: () => "" },
  // prep/script passes the literal "(null)" when the job has no account.
  {
    name: "SLURM_JOB_ACCOUNT",
    slurmd: "when-set",
    slurmctld: "always",
    fake: () => "(null)",
  },
  {
    name: "SLURM_JOB_COMMENT",
    slurmd: "when-set",
    slurmctld: "when-set",
    fake: () => "",
  },
  {
    name: "SLURM_JOB_CONSTRAINTS",
    slurmd: "when-set",
    slurmctld: "when-set",
    fake: () => "",
  },
  {
    name: "SLURM_JOB_CPUS_PER_NODE",
    slurmd: "always",
    slurmctld: "always",
    fake: () => "1",
  },
  { name: "SLURM_JOB_NTASKS", slurmd: "when-set", fake: () => "1" },
  {
    name: "SLURM_JOB_CORE_SPEC_COUNT",
    slurmd: "always",
    slurmdSince: "23.02",
    fake: () => "0",
  },
  {
    name: "SLURM_JOB_CORE_SPEC_TYPE",
    slurmd: "always",
    slurmdSince: "23.02",
    fake: () => "cores",
  },
  {
    name: "SLURM_JOB_START_TIME",
    slurmd: "when-set",
    slurmctld: "always",
    slurmdSince: "23.02",
    slurmctldSince: "23.02",
    fake: () => `${Math.floor(Date.now() / 1000)}`,
  },
  {
    name: "SLURM_JOB_END_TIME",
    slurmd: "when-set",
    slurmctld: "always",
    slurmdSince: "23.02",
    slurmctldSince: "23.02",
    fake: () => `${Math.floor(Date.now() / 1000) + 3600}`,
  },
  {
    name: "SLURM_JOB_EXTRA",
    slurmd: "when-set",
    slurmctld: "when-set",
    slurmdSince: "23.02",
    slurmctldSince: "23.02",
    fake: () => "",
  },
  {
    name: "SLURM_JOB_OVERSUBSCRIBE",
    slurmd: "always",
    slurmctld: "always",
    slurmdSince: "23.02",
    slurmctldSince: "23.02",
    fake: () => "OK",
  },
  {
    name: "SLURM_JOB_EXCLUSIVE",
    slurmd: "always",
    slurmctld: "always",
    slurmdSince: "26.05",
    slurmctldSince: "26.05",
    fake: () => "NO",
  },
  {
    name: "SLURM_JOB_QOS",
    slurmd: "when-set",
    slurmctld: "when-set",
    slurmdSince: "26.05",
    slurmctldSince: "25.11",
    fake: () => "normal",
  },
  {
    name: "SLURM_JOB_SELINUX_CONTEXT",
    slurmd: "when-set",
    slurmctld: "when-set",
    slurmdSince: "25.11",
    slurmctldSince: "25.11",
    fake: () => "",
  },
  {
    name: "SLURM_JOB_NUM_NODES",
    slurmd: "always",
    slurmctld: "always",
    fake: () => "1",
  },
  {
    name: "SLURM_JOB_RESERVATION",
    slurmd: "when-set",
    slurmctld: "when-set",
    fake: () => "",
  },
  {
    name: "SLURM_JOB_RESTART_COUNT",
    slurmd: "always",
    slurmctld: "always",
    fake: () => "0",
  },
  {
    name: "SLURM_JOB_LICENSES",
    slurmd: "when-set",
    slurmctld: "when-set",
    slurmdSince: "23.02",
    fake: () => "",
  },
  { name: "SLURM_WCKEY", slurmctld: "when-set", fake: () => "" },
  {
    name: "SLURM_JOB_STDERR",
    slurmd: "when-set",
    slurmctld: "when-set",
    fake: () => "",
  },
  {
    name: "SLURM_JOB_STDIN",
    slurmd: "always",
    slurmctld: "always",
    fake: () => "/dev/null",
  },
  {
    name: "SLURM_JOB_STDOUT",
    slurmd: "always",
    slurmctld: "always",
    fake: () => "/tmp/slurm-%j.out",
  },
  {
    name: "SLURM_JOB_DERIVED_EC",
    slurmd: "always",
    slurmctld: "always",
    epilogOnly: true,
    fake: () => "0",
  },
  {
    name: "SLURM_JOB_EXIT_CODE",
    slurmd: "always",
    slurmctld: "always",
    epilogOnly: true,
    fake: () => "0",
  },
  {
    name: "SLURM_JOB_EXIT_CODE2",
    slurmd: "always",
    slurmctld: "always",
    epilogOnly: true,
    fake: () => "0:0",
  },
  { name: "SLURM_ARRAY_JOB_ID", slurmctld: "when-set", fake: () => "" },
  { name: "SLURM_ARRAY_TASK_ID", slurmctld: "when-set", fake: () => "" },
  { name: "SLURM_ARRAY_TASK_COUNT", slurmctld: "when-set", fake: () => "" },
  { name: "SLURM_ARRAY_TASK_MIN", slurmctld: "when-set", fake: () => "" },
  { name: "SLURM_ARRAY_TASK_MAX", slurmctld: "when-set", fake: () => "" },
  { name: "SLURM_ARRAY_TASK_STEP", slurmctld: "when-set", fake: () => "" },
  { name: "SLURM_HET_JOB_ID", slurmd: "when-set", slurmctld: "when-set", fake: () => "" },
  { name: "SLURM_PACK_JOB_ID", slurmd: "when-set", slurmctld: "when-set", fake: () => "" },
  { name: "SLURM_HET_JOB_OFFSET", slurmctld: "when-set", fake: () => "" },
  { name: "SLURM_PACK_JOB_OFFSET", slurmctld: "when-set", fake: () => "" },
  { name: "SLURM_HET_JOB_NODELIST", slurmctld: "when-set", fake: () => "" },
  { name: "SLURM_PACK_JOB_NODELIST", slurmctld: "when-set", fake: () => "" },
];

/** The side of a context: slurmd or slurmctld. */
function sideOf(context: ScriptContext): "slurmd" | "slurmctld" {
  return context.endsWith("_slurmd") ? "slurmd" : "slurmctld";
}

/**
 * The variables Slurm `release` may set in `context`, with their presence.
 *
 * @example
 * ```ts
 * varsFor("prolog_slurmd", "25.11").has("SLURM_JOB_SLUID"); // true
 * varsFor("prolog_slurmd", "22.05").has("SLURM_JOB_SLUID"); // false
 * ```
 */
export function varsFor(
  context: ScriptContext,
  release: Release = DEFAULT_RELEASE,
): Map<string, Presence> {
  const side = sideOf(context);
  const epilog = context.startsWith("epilog");
  const out = new Map<string, Presence>();
  for (const v of SLURM_VARS) {
    const presence = v[side];
    const since = side === "slurmd" ? v.slurmdSince : v.slurmctldSince;
    if (since && compareRelease(release, since) < 0) continue;
    if (v.until && compareRelease(release, v.until) > 0) continue;
    if (presence && (epilog || !v.epilogOnly)) out.set(v.name, presence);
  }
  return out;
}

/**
 * A complete fake environment for `context`: every variable Slurm always
 * sets there, with realistic values; `overrides` replace or add variables.
 *
 * @example
 * ```ts
 * const env = fakeJobEnv("epilog_slurmd", { id: 7 }, { SLURM_JOB_EXIT_CODE2: "1:0" });
 * env.SLURM_SCRIPT_CONTEXT; // "epilog_slurmd"
 * ```
 */
export function fakeJobEnv(
  context: ScriptContext,
  job: Partial<FakeJob> = {},
  overrides: Record<string, string> = {},
  release: Release = DEFAULT_RELEASE,
): Record<string, string> {
  const full: FakeJob = {
    id: 1,
    user: "root",
    uid: 0,
    gid: 0,
    group: "root",
    node: "localhost",
    ...job,
  };
  const env: Record<string, string> = {};
  const presence = varsFor(context, release);
  for (const v of SLURM_VARS) {
    if (presence.get(v.name) === "always") env[v.name] = v.fake(full);
  }
  env.SLURM_SCRIPT_CONTEXT = context;
  return { ...env, ...overrides };
}
