// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Where a spawned hook's time goes: the same hook started with one more
 * layer of the spawn path each time, timed in rotation (one run of each in
 * turn) so that a machine whose speed drifts during the bench shifts every
 * layer alike:
 *
 * 1. the floor, a bare `deno run --no-config` of an empty module;
 * 2. the hook's own `deno run` line from its launch plan (the entry, the
 *    policy as permission flags, the job on stdin), outside any sandbox;
 * 3. the same line inside bubblewrap with the plan's view (namespaces and
 *    mounts), no launcher;
 * 4. the native launcher (`prep-deno run`): plan cache, memory cgroup,
 *    status file, timeout;
 * 5. and the same for a hook that imports `"prep-deno"` (every helper).
 *
 * Every layer gets what the launcher gives a hook: an empty DENO_DIR of
 * its own but for the build's analysis of the bundles (a per-run folder,
 * made before the clock starts). `bwrapCost` then splits layer 3's
 * bubblewrap share around a program that does nothing.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { inRotation, percentile } from "./measure.ts";
import { planHook } from "../../src/launch/plan.ts";
import {
  DENO_ANALYSIS_CACHE,
  ENTRY_ANALYSIS_FILE,
  SANDBOX_RUNTIME_ENV,
} from "../../src/launch/constants.ts";

/** One layer's p50, and what it adds to the one before. */
export interface SpawnPart {
  what: string;
  p50: number;
  added: number;
}

/** Times each layer `n` times in rotation; returns one row per layer. */
export async function spawnParts(
  runner: string,
  hookPath: string,
  emptyModule: string,
  helpersHookPath: string,
  env: Record<string, string>,
  n: number,
): Promise<SpawnPart[]> {
  const plan = planHook(hookPath, "prolog", undefined, env);
  const jobOnStdin = new TextEncoder().encode(
    Object.entries(env).map(([k, v]) => `${k}=${v}\0`).join(""),
  );
  const deno = Deno.execPath();
  const cacheDir = Deno.makeTempDirSync({ dir: "/dev/shm", prefix: "prep-deno-bench-" });
  const analysis = join(
    dirname(plan.command.find((a) => a.endsWith("entry.js"))!),
    ENTRY_ANALYSIS_FILE,
  );
  let runs = 0;
  /** A fresh DENO_DIR holding only the analysis, as the launcher's hooks start with. */
  const freshDenoDir = () => {
    const dir = `${cacheDir}/${runs++}`;
    Deno.mkdirSync(dir);
    Deno.copyFileSync(analysis, join(dir, DENO_ANALYSIS_CACHE));
    return dir;
  };
  const layers: [string, string, string[], Uint8Array | undefined][] = [
    ["bare `deno run --no-config` of an empty module (the floor)", deno, [
      "run",
      "--no-config",
      emptyModule,
    ], undefined],
    ["+ the entry, the policy's flags and the hook, no sandbox", plan.command[0], [
      ...plan.command.slice(1),
    ], jobOnStdin],
    ["+ bubblewrap's namespaces and mounts (the plan's view)", plan.bwrap, [
      ...plan.bwrapArgs,
      "--bind",
      "DENO_DIR",
      SANDBOX_RUNTIME_ENV.DENO_DIR,
      "--",
      ...plan.command,
    ], jobOnStdin],
    ["+ the native launcher: plan cache, memory cgroup, status, timer", runner, [
      "run",
      hookPath,
    ], undefined],
    ['the whole path again, the hook importing "prep-deno" (every helper)', runner, [
      "run",
      helpersHookPath,
    ], undefined],
  ];
  const once = async ([what, cmd, args, stdin]: typeof layers[number]) => {
    const denoDir = freshDenoDir();
    const t = performance.now();
    const child = new Deno.Command(cmd, {
      args: args.map((a) => a === "DENO_DIR" ? denoDir : a),
      env: { ...env, DENO_DIR: denoDir },
      clearEnv: true,
      stdin: stdin ? "piped" : "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    if (stdin) {
      const w = child.stdin.getWriter();
      await w.write(stdin);
      await w.close();
    }
    const out = await child.output();
    if (!out.success) {
      throw new Error(`${what}: exit ${out.code}: ${new TextDecoder().decode(out.stderr)}`);
    }
    return performance.now() - t;
  };
  // The warm-up round fills the plan cache and the page cache.
  const times = await inRotation(layers.map((layer) => () => once(layer)), n);
  Deno.removeSync(cacheDir, { recursive: true });
  const p50s = times.map((t) => percentile(t, 0.5));
  return layers.map(([what], l) => ({
    what,
    p50: p50s[l],
    added: l === 0 ? p50s[0] : p50s[l] - p50s[l - 1],
  }));
}

/** What bubblewrap costs around a program that does nothing (`/usr/bin/true`). */
export interface BwrapCost {
  /** p50 of `/usr/bin/true` alone. */
  bare: number;
  /** p50 of bubblewrap with one mount namespace and /usr only, around it. */
  minimal: number;
  /** p50 of bubblewrap with the hook's plan (its namespaces and view), around it. */
  plan: number;
  /** How many mounts the plan's view makes. */
  mounts: number;
}

/**
 * Splits bubblewrap's layer in two, timed in rotation like the layers:
 * what any bubblewrap sandbox costs (a process more, a mount namespace made
 * and torn down, a pivot into it), and what the plan's further namespaces
 * and mounts add.
 */
export async function bwrapCost(
  hookPath: string,
  env: Record<string, string>,
  n: number,
): Promise<BwrapCost> {
  const plan = planHook(hookPath, "prolog", undefined, env);
  const TRUE = "/usr/bin/true";
  const usrOnly = ["--ro-bind", "/usr", "/usr"];
  for (const dir of ["lib", "lib64", "bin"]) {
    try {
      if (Deno.lstatSync(`/${dir}`).isSymlink) usrOnly.push("--symlink", `usr/${dir}`, `/${dir}`);
    } catch { /* not on this machine */ }
  }
  const commands: [string, string[]][] = [
    [TRUE, []],
    [plan.bwrap, [...usrOnly, TRUE]],
    [plan.bwrap, [...plan.bwrapArgs, TRUE]],
  ];
  const once = async ([cmd, args]: [string, string[]]) => {
    const t = performance.now();
    const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
    if (!out.success) throw new Error(`${cmd} ${args.join(" ")}: exit ${out.code}`);
    return performance.now() - t;
  };
  const [bare, minimal, planned] = (await inRotation(commands.map((c) => () => once(c)), n))
    .map((t) => percentile(t, 0.5));
  // What makes a mount: a bind, a new /proc, /dev or tmpfs (`--file` and
  // `--symlink` write into one).
  const mounts =
    plan.bwrapArgs.filter((a) => /^--(ro-|dev-)?bind(-try)?$|^--dev$|^--proc$|^--tmpfs$/.test(a))
      .length;
  return { bare, minimal, plan: planned, mounts };
}
