// SPDX-License-Identifier: GPL-2.0-or-later
// Example site hooks: one module serves all four. Its permissions come from
// deno.json beside it; everything else is out of its reach.
import type { JobContext } from "prep-deno";

const LOG = "/var/tmp/prep-deno-demo";

function record(job: JobContext, what: string): Promise<void> {
  const line = `${new Date().toISOString()} ${job.context} job=${job.id} user=${job.user} ` +
    `partition=${job.partition} nodes=${job.hostnames.join(",")} ${what}\n`;
  console.log(line.trimEnd());
  return Deno.writeTextFile(`${LOG}/hooks.log`, line, { append: true });
}

/**
 * Refuses jobs whose comment asks to fail, to show what a failing prolog does:
 * the thrown message becomes the node's drain reason (`sinfo -R`).
 */
export async function prolog(job: JobContext): Promise<number | void> {
  await record(job, `comment=${JSON.stringify(job.comment ?? "")}`);
  if (job.comment === "please fail") {
    throw new Error(`refusing job ${job.id}: its comment asks the prolog to fail`);
  }
}

export async function epilog(job: JobContext): Promise<void> {
  await record(job, `exit=${job.exitCode} signal=${job.signal}`);
}

export async function prologSlurmctld(job: JobContext): Promise<void> {
  await record(job, `name=${JSON.stringify(job.name)} account=${job.account ?? "-"}`);
}

export async function epilogSlurmctld(job: JobContext): Promise<void> {
  await record(job, `exit=${job.exitCode}`);
}
