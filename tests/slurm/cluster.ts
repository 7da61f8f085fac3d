// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Drives the throwaway cluster of scripts/slurm-cluster.sh from tests: start
 * it with a hook set-up, submit jobs, wait for states, read what hooks
 * recorded. Everything here talks to the real daemons.
 *
 * Which Slurm: Debian's installed one, or with PREP_DENO_SLURM=VERSION the
 * release scripts/slurm-build.sh built from source (`deno task test-slurm
 * VERSION` sets it). When that release is not built (no tarball on this
 * machine), {@link RELEASE}.missing says why and the suites report their
 * tests as ignored with that message instead of passing.
 */

import { join } from "node:path";
import { PREP_DENO, TOP } from "../helpers.ts";

/** The cluster's folder (its slurm.conf, logs, state). */
export const CLUSTER_DIR = join(TOP, "build", "cluster");
const SLURM_CONF = join(CLUSTER_DIR, "slurm.conf");
const SCRIPT = join(TOP, "scripts", "slurm-cluster.sh");

/**
 * The Slurm release the suites run on.
 *
 * @example
 * ```ts
 * import { atLeast, RELEASE } from "./cluster.ts";
 * const slurmJobSluid = atLeast("25.11"); // 25.11 gives hooks SLURM_JOB_SLUID
 * console.log(RELEASE.version, slurmJobSluid);
 * ```
 */
export interface Release {
  /** e.g. "22.05.8", "25.11.7". */
  version: string;
  /** The source-built install's prefix; undefined for Debian's packages. */
  prefix?: string;
  /** Why the requested release cannot run here (its build is missing). */
  missing?: string;
  /** Several slurmd on one machine (built with --enable-multiple-slurmd). */
  multiNode: boolean;
}

function findRelease(): Release {
  const want = Deno.env.get("PREP_DENO_SLURM") ?? "";
  const run = (cmd: string, args: string[]) => {
    try {
      const o = new Deno.Command(cmd, { args, stdin: "null" }).outputSync();
      return {
        ok: o.success,
        out: new TextDecoder().decode(o.stdout).trim(),
        err: new TextDecoder().decode(o.stderr).trim(),
      };
    } catch (e) {
      return { ok: false, out: "", err: String(e) };
    }
  };
  if (!want) {
    const v = run("dpkg-query", ["-W", "-f=${Version}", "slurmd"]).out.split("-")[0];
    return { version: v, multiNode: false };
  }
  const p = run(join(TOP, "scripts", "slurm-build.sh"), ["--prefix", want]);
  if (!p.ok) {
    const missing = `Slurm ${want} is not built on this machine, its tests are IGNORED: ${p.err}`;
    console.error(`\n*** ${missing}\n`);
    return { version: want, missing, multiNode: false };
  }
  return { version: want, prefix: p.out, multiNode: true };
}

/** The release under test (see {@link Release}). */
export const RELEASE: Release = findRelease();

/** Whether the release under test is `version` (e.g. "25.11") or later. */
export function atLeast(version: string): boolean {
  const num = (v: string) => v.split(".").slice(0, 2).map(Number);
  const [a, b] = num(RELEASE.version), [c, d] = num(version);
  return a > c || (a === c && b >= d);
}

/** The environment every Slurm command and the cluster script get. */
function slurmEnv(): Record<string, string> {
  const env: Record<string, string> = { SLURM_CONF };
  if (RELEASE.prefix) {
    env.SLURM_PREFIX = RELEASE.prefix;
    env.PATH = `${RELEASE.prefix}/bin:${RELEASE.prefix}/sbin:${Deno.env.get("PATH") ?? ""}`;
  }
  return env;
}

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
  /** slurmd nodes n1..nN (source-built releases only); default 1, the host. */
  nodes?: number;
  /** PrologFlags= (e.g. "Alloc,Contain"). */
  prologFlags?: string;
  /** Configless: slurmd fetch slurm.conf and relative Prolog=/Epilog= files from slurmctld. */
  configless?: boolean;
}

const decoder = new TextDecoder();

async function sh(cmd: string, args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(cmd, {
    args,
    env: { ...slurmEnv(), ...env },
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
    NODES: String(setup.nodes ?? 1),
    PROLOG_FLAGS: setup.prologFlags ?? "",
    CONFIGLESS: setup.configless ? "1" : "0",
  };
  nodeCount = setup.nodes ?? 1;
  const r = await sh(SCRIPT, ["start"], env);
  if (r.code !== 0) throw new Error(`cluster did not start:\n${r.stderr}\n${await logs()}`);
}

/** Whether a process with this pid exists (SIGCONT: harmless to a live one). */
export function alive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

let nodeCount = 1;

/** The node names of the running cluster: the host, or n1..nN. */
export function nodeNames(): string[] {
  if (nodeCount === 1) return [Deno.hostname().split(".")[0]];
  return Array.from({ length: nodeCount }, (_, i) => `n${i + 1}`);
}

/**
 * Stops the cluster and checks `stop`'s contract: every process it started
 * (by its pid file) is gone. Returns the pids it stopped.
 */
export async function stopCluster(): Promise<number[]> {
  const pidFiles = [...Deno.readDirSync(CLUSTER_DIR)].map((e) => e.name)
    .filter((n) => /^(slurmctld|slurmd(-n\d+)?|serve)\.pid$/.test(n));
  const pids = pidFiles.flatMap((f) => {
    try {
      return [Number(Deno.readTextFileSync(join(CLUSTER_DIR, f)))];
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
  let out = `--- slurmctld.log\n${await tail("slurmctld.log")}`;
  for (const f of slurmdLogFiles()) out += `\n--- ${f}\n${await tail(f)}`;
  return out;
}

/** The pid of the warm service the cluster started. */
export function servicePid(): number {
  return Number(Deno.readTextFileSync(join(CLUSTER_DIR, "serve.pid")));
}

function slurmdLogFiles(): string[] {
  try {
    return [...Deno.readDirSync(join(CLUSTER_DIR, "log"))].map((e) => e.name)
      .filter((n) => /^slurmd(-n\d+)?\.log$/.test(n)).sort();
  } catch {
    return [];
  }
}

/**
 * The whole of one daemon log; for slurmd on several nodes, `node`'s log, or
 * without `node` every node's log one after the other.
 */
export function daemonLog(daemon: "slurmctld" | "slurmd", node?: string): string {
  if (daemon === "slurmd" && nodeCount > 1) {
    const files = node ? [`slurmd-${node}.log`] : slurmdLogFiles();
    return files.map((f) => Deno.readTextFileSync(join(CLUSTER_DIR, "log", f))).join("\n");
  }
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

/** Resumes the node (default: the first) if a test drained it. */
export async function resumeNode(node = nodeNames()[0]): Promise<void> {
  await sh("scontrol", ["update", `NodeName=${node}`, "State=RESUME"]);
}

/** The node's (default: the first) state and reason. */
export async function nodeState(
  node = nodeNames()[0],
): Promise<{ state: string; reason: string }> {
  const n = await show("node", node);
  return { state: n.State, reason: (n.Reason ?? "").replace(/ \[.*\]$/, "") };
}
