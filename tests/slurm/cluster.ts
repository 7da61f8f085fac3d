// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Drives the throwaway cluster of scripts/slurm-cluster.sh from tests: start
 * it with a hook set-up, submit jobs, wait for states, read what hooks
 * recorded. Everything here talks to the real daemons.
 */

import { join } from "node:path";
import { PREP_DENO, TOP } from "../helpers.ts";

/** The cluster's folder (its slurm.conf, logs, state). */
export const CLUSTER_DIR = join(TOP, "build", "cluster");
const SLURM_CONF = join(CLUSTER_DIR, "slurm.conf");
const SCRIPT = join(TOP, "scripts", "slurm-cluster.sh");

/** The hook set-up of one cluster start. */
export interface HookSetup {
  plugin: "prep/script" | "prep/deno";
  prolog?: string;
  epilog?: string;
  prologSlurmctld?: string;
  epilogSlurmctld?: string;
  timeout?: number;
  prepParams?: string;
  /** Start the warm service too, and PrEpParameters=mode=warm. */
  warm?: boolean;
}

const decoder = new TextDecoder();

async function sh(cmd: string, args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(cmd, {
    args,
    env: { SLURM_CONF, ...env },
    stdin: "null",
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** (Re)starts the cluster with `setup`; throws with the logs when it does not come up. */
export async function startCluster(setup: HookSetup): Promise<void> {
  const env: Record<string, string> = {
    PREP_PLUGINS: setup.plugin,
    PREP_PARAMS: setup.prepParams ?? `runner=${PREP_DENO}`,
    PROLOG: setup.prolog ?? "",
    EPILOG: setup.epilog ?? "",
    PROLOG_SLURMCTLD: setup.prologSlurmctld ?? "",
    EPILOG_SLURMCTLD: setup.epilogSlurmctld ?? "",
    PROLOG_EPILOG_TIMEOUT: String(setup.timeout ?? 30),
    WARM: setup.warm ? "1" : "0",
  };
  const r = await sh(SCRIPT, ["start"], env);
  if (r.code !== 0) throw new Error(`cluster did not start:\n${r.stderr}\n${await logs()}`);
}

function alive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops the cluster and checks `stop`'s contract: every process it started
 * (by its pid file) is gone. Returns the pids it stopped.
 */
export async function stopCluster(): Promise<number[]> {
  const pids = ["slurmctld", "slurmd", "serve"].flatMap((d) => {
    try {
      return [Number(Deno.readTextFileSync(join(CLUSTER_DIR, `${d}.pid`)))];
    } catch {
      return [];
    }
  });
  const r = await sh(SCRIPT, ["stop"]);
  if (r.code !== 0) throw new Error(`slurm-cluster.sh stop failed: ${r.stderr}`);
  const left = pids.filter(alive);
  if (left.length) {
    throw new Error(`processes the cluster started are still running: ${left.join(" ")}`);
  }
  return pids;
}

/** The tail of both daemon logs, for failure messages. */
export async function logs(lines = 40): Promise<string> {
  const tail = async (f: string) => {
    try {
      return (await Deno.readTextFile(join(CLUSTER_DIR, "log", f))).split("\n").slice(-lines).join(
        "\n",
      );
    } catch {
      return "(none)";
    }
  };
  return `--- slurmctld.log\n${await tail("slurmctld.log")}\n--- slurmd.log\n${await tail(
    "slurmd.log",
  )}`;
}

/** The pid of the warm service the cluster started. */
export function servicePid(): number {
  return Number(Deno.readTextFileSync(join(CLUSTER_DIR, "serve.pid")));
}

/** The whole of one daemon log. */
export function daemonLog(daemon: "slurmctld" | "slurmd"): string {
  return Deno.readTextFileSync(join(CLUSTER_DIR, "log", `${daemon}.log`));
}

/** Submits with sbatch; returns the job id. */
export async function sbatch(args: string[]): Promise<number> {
  const r = await sh("sbatch", ["--parsable", "-o", "/dev/null", ...args]);
  if (r.code !== 0) throw new Error(`sbatch ${args.join(" ")}: ${r.stderr}`);
  return Number(r.stdout.trim().split(";")[0]);
}

/** Runs srun to completion; returns its exit code. */
export async function srun(args: string[]): Promise<number> {
  return (await sh("srun", args)).code;
}

/** Runs a Slurm client command. */
export function slurm(cmd: string, args: string[]) {
  return sh(cmd, args);
}

/** `scontrol show job|node` as key=value pairs. */
export async function show(
  kind: "job" | "node",
  id: string | number,
): Promise<Record<string, string>> {
  const r = await sh("scontrol", ["show", kind, String(id), "--oneliner"]);
  const rec: Record<string, string> = {};
  // Values may hold spaces (Reason=Prolog error [root@...]); split on " Key=".
  for (const m of r.stdout.trim().matchAll(/(?:^|\s)([A-Za-z:/]+)=(.*?)(?=\s[A-Za-z:/]+=|$)/g)) {
    rec[m[1]] = m[2];
  }
  return rec;
}

/** Polls `probe` until it returns a value, or throws after `seconds`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  seconds = 60,
): Promise<T> {
  const until = Date.now() + seconds * 1000;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}\n${await logs()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Waits until the job is in one of `states`; returns its record. */
export function waitJobState(id: number, states: string[], seconds = 60) {
  return waitFor(`job ${id} in ${states.join("|")}`, async () => {
    const j = await show("job", id);
    return states.includes(j.JobState) ? j : undefined;
  }, seconds);
}

/** Resumes the node if a test drained it. */
export async function resumeNode(): Promise<void> {
  const node = (await sh("hostname", ["-s"])).stdout.trim();
  await sh("scontrol", ["update", `NodeName=${node}`, "State=RESUME"]);
}

/** The node's state and reason. */
export async function nodeState(): Promise<{ state: string; reason: string }> {
  const node = (await sh("hostname", ["-s"])).stdout.trim();
  const n = await show("node", node);
  return { state: n.State, reason: (n.Reason ?? "").replace(/ \[.*\]$/, "") };
}
