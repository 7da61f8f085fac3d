// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Expand the `%` patterns of a job's stdout/stderr paths, as sbatch's
 * filename patterns do.
 *
 * @module
 */

import type { JobContext } from "../types.ts";

/** Slurm's "no value" for an array task id of a job that is not an array. */
const NO_VAL = "4294967294";

/**
 * Expands `%j %u %N %x %A %a %%` (and a zero-padding width, `%4j`) in
 * `pattern` for `job`; unknown patterns are kept as written.
 *
 * @example
 * ```ts
 * import { fakeJob } from "../testing.ts";
 * const job = fakeJob("prolog", { id: 42, user: "alice" });
 * expandJobPath("/home/%u/slurm-%A_%a.out", job); // "/home/alice/slurm-42_4294967294.out"
 * expandJobPath("out-%5j.txt", job);               // "out-00042.txt"
 * ```
 */
export function expandJobPath(pattern: string, job: JobContext): string {
  const value = (c: string): string | undefined => {
    switch (c) {
      case "j":
        return String(job.id);
      case "u":
        return job.user;
      case "N":
        return job.nodeName ?? job.hostnames[0];
      case "x":
        return job.name;
      case "A":
        return String(job.arrayJobId ?? job.id);
      case "a":
        return job.arrayTaskId === undefined ? NO_VAL : String(job.arrayTaskId);
    }
    return undefined;
  };
  return pattern.replace(/%(%|(\d*)([a-zA-Z]))/g, (whole, pct, width, c) => {
    if (pct === "%") return "%";
    const v = value(c);
    if (v === undefined) return whole;
    return width && /^\d+$/.test(v) ? v.padStart(Number(width), "0") : v;
  });
}

/**
 * The job's stdout and stderr paths expanded (stderr defaults to stdout,
 * as in Slurm); relative paths are taken from the job's working folder.
 *
 * The job user chose these paths (`--output`, `--job-name` for `%x`, `..`
 * and symlinks included) and Slurm opens them as that user: read them for
 * messages, never create, chown or remove them as root (a path of
 * `/etc/x` or through `/home/alice/link` is theirs to write).
 *
 * @example
 * ```ts
 * import { fakeJob } from "../testing.ts";
 * const job = fakeJob("prolog", { id: 42, env: { SLURM_JOB_STDOUT: "/home/alice/slurm-%j.out" } });
 * jobOutputPaths(job); // { stdout: "/home/alice/slurm-42.out", stderr: "/home/alice/slurm-42.out" }
 * ```
 */
export function jobOutputPaths(job: JobContext): { stdout?: string; stderr?: string } {
  const abs = (p: string | undefined) => {
    if (p === undefined) return undefined;
    const e = expandJobPath(p, job);
    return e.startsWith("/") || !job.workDir ? e : `${job.workDir.replace(/\/$/, "")}/${e}`;
  };
  return { stdout: abs(job.stdout), stderr: abs(job.stderr ?? job.stdout) };
}
