// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Every process a warm job started ends with the job, `processes: "host"`
 * included. The native launcher puts each warm host in cgroups of its own
 * (memory, pids: src/launcher/cgroup.c), which nothing in the sandbox can
 * leave; a host runs one job at a time, so while a job runs every process
 * of those cgroups but the host's own (recorded when it connected, before
 * any job) is the job's. After each job the service, root and outside the
 * sandbox, SIGKILLs them before it answers: a process that daemonized
 * (`setsid`, double fork, reparented outside the host's tree) or changed
 * its user is gone all the same. The host's own sweep of its descendants
 * (host.ts) stays as the fallback without a writable cgroup.
 *
 * @module
 */

import { join } from "node:path";

/** The folders under `/sys/fs/cgroup` where this process's cgroups are. */
function ownCgroupDirs(): string[] {
  const dirs: string[] = [];
  for (const line of Deno.readTextFileSync("/proc/self/cgroup").split("\n")) {
    const [, controllers, path] = line.split(":");
    if (path === undefined) continue;
    if (controllers === "") {
      dirs.push(`/sys/fs/cgroup${path}`, `/sys/fs/cgroup/unified${path}`);
    }
    for (const c of controllers.split(",")) {
      if (c === "memory" || c === "pids") dirs.push(`/sys/fs/cgroup/${c}${path}`);
    }
  }
  return dirs;
}

/**
 * The cgroups the launcher `launcherPid` made (`prep-deno-PID-...` below
 * ours, one per controller hierarchy); empty when it made none.
 *
 * @example
 * ```ts
 * import { hostCgroups } from "./job_cgroup.ts";
 * export function cgroupsOf(child: Deno.ChildProcess): string[] {
 *   return hostCgroups(child.pid); // ["/sys/fs/cgroup/memory/.../prep-deno-4242-0-1733550000", ...]
 * }
 * ```
 */
export function hostCgroups(launcherPid: number): string[] {
  const found: string[] = [];
  for (const dir of new Set(ownCgroupDirs())) {
    try {
      for (const e of Deno.readDirSync(dir)) {
        if (e.isDirectory && e.name.startsWith(`prep-deno-${launcherPid}-`)) {
          found.push(join(dir, e.name));
        }
      }
    } catch { /* no such hierarchy here */ }
  }
  return found;
}

/**
 * The processes (thread-group ids) in `dirs`.
 *
 * @example
 * ```ts
 * import { cgroupPids, hostCgroups } from "./job_cgroup.ts";
 * export function hostPids(child: Deno.ChildProcess): Set<number> {
 *   return cgroupPids(hostCgroups(child.pid)); // Set { 4243 }
 * }
 * ```
 */
export function cgroupPids(dirs: readonly string[]): Set<number> {
  const pids = new Set<number>();
  for (const dir of dirs) {
    try {
      for (const p of Deno.readTextFileSync(join(dir, "cgroup.procs")).split("\n")) {
        if (p) pids.add(Number(p));
      }
    } catch { /* removed: the host ended */ }
  }
  return pids;
}

/**
 * SIGKILLs every process of `dirs` but `keep` until none is left (a fork
 * racing the kill is caught by the next round; the pids limit bounds
 * them); resolves to how many were killed.
 *
 * @example
 * ```ts
 * import { killJobProcesses } from "./job_cgroup.ts";
 * export async function afterJob(dirs: string[], hostPids: Set<number>): Promise<number> {
 *   return await killJobProcesses(dirs, hostPids); // 0 when the job left nothing
 * }
 * ```
 */
export async function killJobProcesses(
  dirs: readonly string[],
  keep: ReadonlySet<number>,
): Promise<number> {
  let killed = 0;
  for (let round = 0; round < 1000; round++) {
    const left = [...cgroupPids(dirs)].filter((p) => !keep.has(p));
    if (!left.length) return killed;
    for (const pid of left) {
      try {
        Deno.kill(pid, "SIGKILL");
        killed++;
      } catch { /* already gone */ }
    }
    // A process killed leaves cgroup.procs once reaped: give it a moment.
    await new Promise((r) => setTimeout(r, round < 10 ? 1 : 10));
  }
  return killed;
}
