// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Append to a job's output file as the job user, as epilogs that report a
 * job's scratch or accounting do with `su` or `runuser`.
 *
 * @module
 */

import type { JobContext } from "../types.ts";
import { jobOutputPaths } from "./job_paths.ts";
import { runWalkTool } from "./walk_tool.ts";

/**
 * Appends `text` to the job's standard output file (`--output`, expanded
 * by {@linkcode jobOutputPaths}) with the job user's own uid and gid (no
 * supplementary groups) and never root's: the user chose the path, links
 * and `..` included, so only a file she could write herself is written. The
 * file must exist (Slurm makes it when the job starts: use this in the
 * epilog); it is never made or truncated.
 *
 * Needs: `write` of the file's folder in the view, and `CAP_SETUID` and
 * `CAP_SETGID` (the walk tool becomes the user before it opens the file;
 * not with `processes: "host"`, which never keeps `CAP_SETGID`).
 *
 * @example
 * ```ts
 * import { appendToJobOutput } from "./job_output.ts";
 * import { fakeJob } from "../testing.ts";
 * const dir = Deno.makeTempDirSync();
 * Deno.chmodSync(dir, 0o755);
 * Deno.writeTextFileSync(`${dir}/slurm-7.out`, "");
 * Deno.chownSync(`${dir}/slurm-7.out`, 65534, 65534);
 * const env = { SLURM_JOB_STDOUT: `${dir}/slurm-%j.out` };
 * const job = fakeJob("epilog", { id: 7, user: "nobody", uid: 65534, gid: 65534, env });
 * await appendToJobOutput(job, "scratch used: 3 GiB\n");
 * Deno.readTextFileSync(`${dir}/slurm-7.out`); // "scratch used: 3 GiB\n"
 * Deno.removeSync(dir, { recursive: true });
 * ```
 * @throws {Error} naming the file when the job has none, or the user cannot write it.
 */
export async function appendToJobOutput(job: JobContext, text: string): Promise<void> {
  const path = jobOutputPaths(job).stdout;
  if (!path) throw new Error(`appendToJobOutput: job ${job.id} has no output file (StdOut)`);
  if (job.uid === undefined || job.gid === undefined || job.uid === 0) {
    throw new Error(`${path}: appendToJobOutput needs the job's uid and gid (not root)`);
  }
  await runWalkTool(["append", String(job.uid), String(job.gid), path], { stdin: text });
}
