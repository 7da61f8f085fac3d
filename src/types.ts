// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Public types of prep/deno hook modules. Import them type-only, so a hook
 * needs nothing at run time:
 *
 * ```ts
 * import type { JobContext } from "prep-deno";
 *
 * export async function prolog(job: JobContext): Promise<number | void> {
 *   if (job.partition === "gpu" && !job.env.CUDA_VISIBLE_DEVICES) return 1;
 * }
 * ```
 *
 * @module
 */

/** Value of `SLURM_SCRIPT_CONTEXT`: which daemon runs the hook and when. */
export type ScriptContext =
  | "prolog_slurmd"
  | "epilog_slurmd"
  | "prolog_slurmctld"
  | "epilog_slurmctld";

/**
 * Name of the export that serves a context: `prolog` for `Prolog=`,
 * `epilog` for `Epilog=`, `prologSlurmctld` for `PrologSlurmctld=` and
 * `epilogSlurmctld` for `EpilogSlurmctld=`. It is also the name of the
 * permission set the hook gets (see the README, "Sandbox").
 */
export type HookName =
  | "prolog"
  | "epilog"
  | "prologSlurmctld"
  | "epilogSlurmctld";

/**
 * What a hook may return: nothing (success, exit status 0) or an integer
 * 0-255 that becomes the exit status. Any other value fails the hook.
 * Throwing fails the hook with exit status 1 and the error on stderr.
 */
export type HookResult = void | number | undefined;

/**
 * A hook function: gets the job, may be async.
 *
 * @example
 * ```ts
 * import type { Hook } from "./mod.ts";
 * export const epilog: Hook = (job) => {
 *   console.log(`job ${job.id} ended with ${job.exitCode}`);
 * };
 * ```
 */
export type Hook = (job: JobContext) => HookResult | Promise<HookResult>;

/**
 * What a hook module may export: one function per hook, or a default export
 * that serves every hook without a named export of its own.
 */
export interface HookModule {
  /** Runs as `Prolog=` on each node (context `prolog_slurmd`). */
  prolog?: Hook;
  /** Runs as `Epilog=` on each node (context `epilog_slurmd`). */
  epilog?: Hook;
  /** Runs as `PrologSlurmctld=` on the controller. */
  prologSlurmctld?: Hook;
  /** Runs as `EpilogSlurmctld=` on the controller. */
  epilogSlurmctld?: Hook;
  /** Serves any hook that has no named export. */
  default?: Hook;
}

/**
 * The job as Slurm described it to the hook. Every field comes from the
 * environment variable prep/script sets for that context (named in each
 * field's doc); a field is `undefined` when Slurm did not set the variable
 * for this context or set it to `(null)`.
 */
export interface JobContext {
  /** `SLURM_SCRIPT_CONTEXT`. */
  readonly context: ScriptContext;
  /** The hook that serves `context`. */
  readonly hook: HookName;
  /** `SLURM_JOB_ID` (falls back to `SLURM_JOBID`). */
  readonly id: number;
  /** `SLURM_JOB_NAME` (slurmctld contexts only). */
  readonly name: string | undefined;
  /** `SLURM_JOB_USER`. */
  readonly user: string | undefined;
  /** `SLURM_JOB_UID`. */
  readonly uid: number | undefined;
  /** `SLURM_JOB_GID`. */
  readonly gid: number | undefined;
  /** `SLURM_JOB_GROUP` (slurmctld contexts only). */
  readonly group: string | undefined;
  /** `SLURM_JOB_PARTITION`. */
  readonly partition: string | undefined;
  /** `SLURM_JOB_ACCOUNT` (`(null)` becomes `undefined`). */
  readonly account: string | undefined;
  /** `SLURM_JOB_COMMENT`. */
  readonly comment: string | undefined;
  /** `SLURM_JOB_CONSTRAINTS`: the job's `--constraint`. */
  readonly constraints: string | undefined;
  /** `SLURM_JOB_RESERVATION`. */
  readonly reservation: string | undefined;
  /** `SLURM_JOB_LICENSES` (slurmctld contexts only). */
  readonly licenses: string | undefined;
  /** `SLURM_WCKEY` (slurmctld contexts only). */
  readonly wckey: string | undefined;
  /** `SLURM_CLUSTER_NAME`. */
  readonly clusterName: string | undefined;
  /** `SLURMD_NODENAME`: the node running the hook (slurmd contexts only). */
  readonly nodeName: string | undefined;
  /**
   * The job's node list in Slurm's hostlist form, such as `node[1-3,7]`:
   * `SLURM_NODELIST` on slurmd, `SLURM_JOB_NODELIST` on slurmctld.
   */
  readonly nodes: string | undefined;
  /** `nodes` expanded: `node[1-3,7]` gives `node1 node2 node3 node7`. */
  readonly hostnames: readonly string[];
  /** `SLURM_JOB_NUM_NODES`. */
  readonly numNodes: number | undefined;
  /** `SLURM_JOB_CPUS_PER_NODE`, compressed as Slurm prints it: `4(x2),2`. */
  readonly cpusPerNode: string | undefined;
  /** `SLURM_JOB_NTASKS` (slurmd contexts, when the credential has it). */
  readonly ntasks: number | undefined;
  /** `SLURM_JOB_WORK_DIR`. */
  readonly workDir: string | undefined;
  /** `SLURM_JOB_STDOUT` (unexpanded, e.g. `job-%j.out`). */
  readonly stdout: string | undefined;
  /** `SLURM_JOB_STDERR`. */
  readonly stderr: string | undefined;
  /** `SLURM_JOB_STDIN`. */
  readonly stdin: string | undefined;
  /** Epilogs: the job's exit code, first half of `SLURM_JOB_EXIT_CODE2`. */
  readonly exitCode: number | undefined;
  /** Epilogs: the signal that ended the job (0 if none), from `SLURM_JOB_EXIT_CODE2`. */
  readonly signal: number | undefined;
  /** Epilogs: `SLURM_JOB_EXIT_CODE`, the raw wait(2) status. */
  readonly waitStatus: number | undefined;
  /** Epilogs: `SLURM_JOB_DERIVED_EC`, the highest exit code of all steps. */
  readonly derivedExitCode: number | undefined;
  /** `SLURM_ARRAY_JOB_ID`. */
  readonly arrayJobId: number | undefined;
  /** `SLURM_ARRAY_TASK_ID`. */
  readonly arrayTaskId: number | undefined;
  /** `SLURM_HET_JOB_ID` (or the older `SLURM_PACK_JOB_ID`). */
  readonly hetJobId: number | undefined;
  /** `SLURM_HET_JOB_OFFSET` (slurmctld contexts only). */
  readonly hetJobOffset: number | undefined;
  /** `SLURM_JOB_RESTART_COUNT`: how many times the job was requeued. */
  readonly restartCount: number | undefined;
  /** `SLURM_JOB_QOS` (slurmctld contexts from Slurm 25.11, slurmd from 26.05). */
  readonly qos: string | undefined;
  /** `SLURM_JOB_SLUID`, the job's cluster-unique id (Slurm 25.11+, when it has one). */
  readonly sluid: string | undefined;
  /** `SLURM_JOB_EXCLUSIVE`: `NO`, `NODE`, `USER`, `MCS` or `TOPO` (Slurm 26.05+). */
  readonly exclusive: string | undefined;
  /** `SLURM_JOB_OVERSUBSCRIBE` (Slurm 23.02+). */
  readonly oversubscribe: string | undefined;
  /**
   * `SLURM_JOB_GPUS`: the GPU indexes allocated to the job on this node
   * (`"0,2"` gives `["0", "2"]`); empty when the job has none.
   */
  readonly gpus: readonly string[];
  /**
   * The job user's home folder, from /etc/passwd, when the hook may read it
   * (grant `read` of `/etc/passwd`); undefined otherwise or for an unknown user.
   */
  readonly home: string | undefined;
  /**
   * Every variable the hook received, unchanged (GRES variables such as
   * `CUDA_VISIBLE_DEVICES`, SPANK variables, ...). A value that is not valid
   * UTF-8 is decoded with U+FFFD in place of the bad bytes.
   */
  readonly env: Readonly<Record<string, string>>;
}
