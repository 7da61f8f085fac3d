// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Per-job folders on local scratch, /dev/shm and /tmp, owned by the job
 * user with mode 700, removed by the epilog (a port of HPCNow's
 * slurm_simulator prolog/job.sh and epilog/job.sh): `ROOT/jobs/USER/JOBID`.
 *
 * Privileges (deno.json): Deno `read`/`write` of the /scratch and /tmp
 * trees; `run` of `prep-deno-walk`, the runner's tool that does the work by
 * descriptor (named because the view's writable roots are wider than
 * Deno's `write`: the tool reaches what the view lets it); the kernel view
 * binds the three roots read-write and keeps CAP_CHOWN (give the folders
 * away) and CAP_DAC_OVERRIDE (enter and empty the user's 700 folders).
 *
 * @module
 */

import type { JobContext } from "prep-deno";
import { makeJobFolder, removeTree } from "prep-deno";

/** Where the per-job folders go: each root must exist on the node. */
export const ROOTS = ["/scratch", "/dev/shm", "/tmp"];

function owner(job: JobContext) {
  if (job.uid === undefined || job.gid === undefined || !job.user) {
    throw new Error(`job ${job.id}: no job user in the environment`);
  }
  return { uid: job.uid, gid: job.gid, user: job.user };
}

/** Makes ROOT/jobs/USER (the user's, 700) and ROOT/jobs/USER/JOBID (the user's, 700). */
export async function prolog(job: JobContext): Promise<void> {
  const { uid, gid, user } = owner(job);
  for (const root of ROOTS) {
    await makeJobFolder(`${root}/jobs/${user}`, { uid, gid, mode: 0o700, recursive: true });
    await makeJobFolder(`${root}/jobs/${user}/${job.id}`, { uid, gid, mode: 0o700 });
  }
}

/** Removes every ROOT/jobs/USER/JOBID, whatever the job left in it. */
export async function epilog(job: JobContext): Promise<void> {
  const { user } = owner(job);
  for (const root of ROOTS) await removeTree(`${root}/jobs/${user}/${job.id}`);
}
