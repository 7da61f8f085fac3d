// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Turns the environment Slurm gave a hook into a typed {@linkcode JobContext}.
 *
 * @module
 */

import { expandHostlist } from "./hostlist.ts";
import { HOOK_FOR_CONTEXT, isScriptContext } from "./slurm_vars.ts";
import type { JobContext } from "../types.ts";

/** Thrown when the environment is not one Slurm gives a hook. */
export class JobEnvError extends Error {
  override name = "JobEnvError";
}

/**
 * Builds the job context from a hook's environment. Pure: it needs no
 * permission, so it runs inside the sandboxed worker.
 *
 * @example
 * ```ts
 * const job = buildJobContext({ SLURM_SCRIPT_CONTEXT: "prolog_slurmd", SLURM_JOB_ID: "42" });
 * job.id; // 42
 * job.account; // undefined
 * ```
 * @throws {JobEnvError} when `SLURM_SCRIPT_CONTEXT` or the job id is missing or invalid.
 */
export function buildJobContext(env: Record<string, string>): JobContext {
  const context = env.SLURM_SCRIPT_CONTEXT;
  if (!isScriptContext(context)) {
    throw new JobEnvError(
      context === undefined
        ? "SLURM_SCRIPT_CONTEXT is not set: this is not a Slurm hook environment (use `prep-deno try` to run a hook by hand)"
        : `SLURM_SCRIPT_CONTEXT="${context}" is not one of prolog_slurmd, epilog_slurmd, prolog_slurmctld, epilog_slurmctld`,
    );
  }
  const str = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v === "(null)" ? undefined : v;
  };
  const int = (name: string): number | undefined => {
    const v = str(name);
    if (v === undefined || !/^-?\d+$/.test(v.trim())) return undefined;
    return Number(v);
  };
  const id = int("SLURM_JOB_ID") ?? int("SLURM_JOBID");
  if (id === undefined) {
    throw new JobEnvError(
      `SLURM_JOB_ID="${env.SLURM_JOB_ID ?? ""}" is not a job id`,
    );
  }
  const nodes = str("SLURM_NODELIST") ?? str("SLURM_JOB_NODELIST");
  const [exitCode, signal] = exitPair(str("SLURM_JOB_EXIT_CODE2"));
  return Object.freeze({
    context,
    hook: HOOK_FOR_CONTEXT[context],
    id,
    name: str("SLURM_JOB_NAME"),
    user: str("SLURM_JOB_USER"),
    uid: int("SLURM_JOB_UID"),
    gid: int("SLURM_JOB_GID"),
    group: str("SLURM_JOB_GROUP"),
    partition: str("SLURM_JOB_PARTITION"),
    account: str("SLURM_JOB_ACCOUNT"),
    comment: str("SLURM_JOB_COMMENT"),
    constraints: str("SLURM_JOB_CONSTRAINTS"),
    reservation: str("SLURM_JOB_RESERVATION"),
    licenses: str("SLURM_JOB_LICENSES"),
    wckey: str("SLURM_WCKEY"),
    clusterName: str("SLURM_CLUSTER_NAME"),
    nodeName: str("SLURMD_NODENAME"),
    nodes,
    hostnames: Object.freeze(nodes ? expandHostlist(nodes) : []),
    numNodes: int("SLURM_JOB_NUM_NODES"),
    cpusPerNode: str("SLURM_JOB_CPUS_PER_NODE"),
    ntasks: int("SLURM_JOB_NTASKS"),
    workDir: str("SLURM_JOB_WORK_DIR"),
    stdout: str("SLURM_JOB_STDOUT"),
    stderr: str("SLURM_JOB_STDERR"),
    stdin: str("SLURM_JOB_STDIN"),
    exitCode,
    signal,
    waitStatus: int("SLURM_JOB_EXIT_CODE"),
    derivedExitCode: int("SLURM_JOB_DERIVED_EC"),
    arrayJobId: int("SLURM_ARRAY_JOB_ID"),
    arrayTaskId: int("SLURM_ARRAY_TASK_ID"),
    hetJobId: int("SLURM_HET_JOB_ID") ?? int("SLURM_PACK_JOB_ID"),
    hetJobOffset: int("SLURM_HET_JOB_OFFSET") ?? int("SLURM_PACK_JOB_OFFSET"),
    restartCount: int("SLURM_JOB_RESTART_COUNT"),
    qos: str("SLURM_JOB_QOS"),
    sluid: str("SLURM_JOB_SLUID"),
    exclusive: str("SLURM_JOB_EXCLUSIVE"),
    oversubscribe: str("SLURM_JOB_OVERSUBSCRIBE"),
    gpus: Object.freeze(
      (str("SLURM_JOB_GPUS") ?? "").split(",").map((g) => g.trim()).filter((g) => g !== ""),
    ),
    home: homeOf(str("SLURM_JOB_USER"), int("SLURM_JOB_UID")),
    env: Object.freeze({ ...env }),
  });
}

/** The home folder of a user from /etc/passwd, when readable (no prompt, no throw). */
export function homeOf(
  user: string | undefined,
  uid: number | undefined,
  passwd?: string,
): string | undefined {
  if (user === undefined && uid === undefined) return undefined;
  let text = passwd;
  if (text === undefined) {
    try {
      if (Deno.permissions.querySync({ name: "read", path: "/etc/passwd" }).state !== "granted") {
        return undefined;
      }
      text = Deno.readTextFileSync("/etc/passwd");
    } catch {
      return undefined;
    }
  }
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length < 7) continue;
    if ((user !== undefined && f[0] === user) || (user === undefined && Number(f[2]) === uid)) {
      return f[5] || undefined;
    }
  }
  return undefined;
}

function exitPair(v: string | undefined): [number?, number?] {
  const m = v === undefined ? null : /^(\d+):(\d+)$/.exec(v);
  return m ? [Number(m[1]), Number(m[2])] : [undefined, undefined];
}
