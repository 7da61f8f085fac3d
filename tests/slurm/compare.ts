// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * What the cluster suites compare between prep/script and prep/deno: hook
 * environments with the values that name one job blanked out, and the
 * settled state of a job and its nodes.
 */
import { show } from "./cluster.ts";

/**
 * Values that name the job itself, so differ between runs: kept present,
 * value blanked.
 */
export const JOB_SPECIFIC = [
  "SLURM_JOB_ID",
  "SLURM_JOBID",
  "SLURM_ARRAY_JOB_ID",
  "SLURM_JOB_START_TIME",
  "SLURM_JOB_END_TIME",
  "SLURM_JOB_SLUID", // 25.11+: a unique id per job
];

/**
 * `env` with the {@link JOB_SPECIFIC} values replaced by `<job-specific>`.
 *
 * @example
 * ```ts
 * normalized({ SLURM_JOB_ID: "7", SLURM_JOB_USER: "root" });
 * // { SLURM_JOB_ID: "<job-specific>", SLURM_JOB_USER: "root" }
 * ```
 */
export function normalized(env: { [k: string]: string }): { [k: string]: string } {
  const out = { ...env };
  for (const k of JOB_SPECIFIC) if (k in out) out[k] = "<job-specific>";
  return out;
}

/** A job's state and its nodes' states, as the suites compare them. */
export interface Settled {
  /** What `nodes()` said, e.g. "n1=IDLE/ n2=IDLE+DRAIN/Prolog error". */
  nodes: string;
  jobState: string;
  jobReason: string;
}

/**
 * Polls until nothing has changed for 4 s and neither the job nor a node is
 * mid-flight (or `seconds` passed).
 */
export async function settle(
  job: number,
  seconds: number,
  nodes: () => Promise<string>,
): Promise<Settled> {
  const until = Date.now() + seconds * 1000;
  let last = "", stableSince = Date.now(), snap: Settled;
  for (;;) {
    const j = await show("job", job);
    snap = { nodes: await nodes(), jobState: j.JobState, jobReason: j.Reason };
    const key = JSON.stringify(snap);
    if (key !== last) {
      last = key;
      stableSince = Date.now();
    }
    const busy = ["CONFIGURING", "RUNNING", "COMPLETING"].includes(snap.jobState) ||
      /COMPLETING|CONFIGURING/.test(snap.nodes);
    if (!busy && Date.now() - stableSince >= 4000) return snap;
    if (Date.now() > until) return snap;
    await new Promise((r) => setTimeout(r, 500));
  }
}
