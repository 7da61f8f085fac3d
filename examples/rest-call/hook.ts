// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * PrologSlurmctld: tell a site service about each job before it starts
 * (accounting, a license server, a notebook portal). Runs on the
 * controller, asynchronously: a slow service never holds slurmctld, and a
 * failure here fails the job's start, so only fail for a real refusal.
 *
 * Privileges (deno.json): `net` to the service's host and port, nothing
 * else; the kernel view needs no key (a `net` grant shares the network).
 *
 * @module
 */

import type { JobContext } from "prep-deno";

/** The service's endpoint. */
export const ENDPOINT = "http://127.0.0.1:17019/jobs";

export async function prologSlurmctld(job: JobContext): Promise<number | void> {
  const res = await fetch(ENDPOINT, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      id: job.id,
      user: job.user,
      partition: job.partition,
      nodes: job.hostnames,
    }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (res.status === 403) {
    console.error(`job ${job.id} refused by ${ENDPOINT}: ${text}`);
    return 1;
  }
  if (!res.ok) console.error(`job ${job.id}: ${ENDPOINT} answered ${res.status}; job goes on`);
}
