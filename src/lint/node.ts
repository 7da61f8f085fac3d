// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The node's side of `check --slurm-conf`: what PrEpParameters names and
 * the plugin needs on every node (the runner, bubblewrap, the cgroup
 * memory controller when a memory limit is set, the warm service's socket
 * with `mode=warm`), and every number within the one set of bounds the
 * plugin checks at start ({@linkcode NUMBERS}, `PD_NUMBERS`).
 *
 * @module
 */

import {
  DEFAULT_RUNNER,
  DEFAULT_SOCKET,
  type NumberKey,
  numberProblem,
  NUMBERS,
} from "../contract.ts";
import { findBwrap } from "../sandbox/sandbox.ts";
import { closest } from "../sandbox/did_you_mean.ts";
import type { Problem } from "./problem.ts";

/** The PrEpParameters keys the plugin knows (ffi/prep_deno_conf.c). */
export const PREP_PARAMETER_KEYS = [
  "runner",
  "mode",
  "socket",
  "drain_reason",
  "journal",
  "metrics",
  ...Object.keys(NUMBERS) as NumberKey[],
] as const;

/** PrEpParameters as the plugin reads it, names only. */
export interface PrepParameters {
  /** The runner binary. */
  readonly runner: string;
  /** `mode=warm`. */
  readonly warm: boolean;
  /** The warm service's socket. */
  readonly socket: string;
  /** `memory_mb=` as written, when set. */
  readonly memoryMb?: string;
  /** Tokens the plugin does not know. */
  readonly unknown: readonly string[];
  /** Each number as written (`heap_mb=64`), in order: the plugin checks every one. */
  readonly numbers: readonly { key: NumberKey; value: string }[];
}

/**
 * Splits PrEpParameters as the plugin does (commas; keys any case).
 *
 * @example
 * ```ts
 * parsePrepParameters("mode=warm,runner=/opt/prep-deno").runner; // "/opt/prep-deno"
 * ```
 */
export function parsePrepParameters(value: string | undefined): PrepParameters {
  let runner: string = DEFAULT_RUNNER;
  let socket: string = DEFAULT_SOCKET;
  let warm = false;
  let memoryMb: string | undefined;
  const unknown: string[] = [];
  const numbers: { key: NumberKey; value: string }[] = [];
  for (const tok of (value ?? "").split(",").filter((t) => t !== "")) {
    const eq = tok.indexOf("=");
    const key = (eq < 0 ? tok : tok.slice(0, eq)).toLowerCase();
    const v = eq < 0 ? "" : tok.slice(eq + 1);
    if (key === "runner") runner = v;
    else if (key === "socket") socket = v;
    else if (key === "mode" && /^(warm|spawn)$/i.test(v)) warm = v.toLowerCase() === "warm";
    else if (Object.hasOwn(NUMBERS, key)) {
      numbers.push({ key: key as NumberKey, value: v });
      if (key === "memory_mb") memoryMb = v;
    } else if (!(PREP_PARAMETER_KEYS as readonly string[]).includes(key)) unknown.push(tok);
  }
  return { runner, warm, socket, memoryMb, unknown, numbers };
}

function executable(path: string): boolean {
  try {
    const s = Deno.statSync(path);
    return s.isFile && ((s.mode ?? 0) & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** Whether the cgroup memory controller can be used (v2: listed; v1: mounted). */
function memoryController(): boolean {
  try {
    return Deno.readTextFileSync("/sys/fs/cgroup/cgroup.controllers").split(/\s+/).includes(
      "memory",
    );
  } catch {
    try {
      return Deno.statSync("/sys/fs/cgroup/memory").isDirectory;
    } catch {
      return false;
    }
  }
}

/** Whether something answers on the unix socket at `path`. */
async function answers(path: string): Promise<boolean> {
  try {
    const conn = await Deno.connect({ transport: "unix", path });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

/**
 * The node's problems under `params` (from slurm.conf at `confPath`).
 *
 * @example
 * ```ts
 * await lintNode(parsePrepParameters("mode=warm"), "/etc/slurm/slurm.conf");
 * ```
 */
export async function lintNode(params: PrepParameters, confPath: string): Promise<Problem[]> {
  const problems: Problem[] = [];
  for (const tok of params.unknown) {
    const key = tok.split("=")[0];
    const near = closest(key, PREP_PARAMETER_KEYS);
    problems.push({
      file: confPath,
      key: "PrEpParameters",
      problem: `unknown "${tok}"`,
      fix: `${near ? `did you mean "${near}"? ` : ""}(use ${PREP_PARAMETER_KEYS.join(", ")})`,
    });
  }
  for (const { key, value } of params.numbers) {
    const problem = numberProblem(key, value);
    if (!problem) continue;
    // The plugin's own words: it refuses to start on this value.
    problems.push({
      file: confPath,
      key: "PrEpParameters",
      problem: `${problem}; the plugin refuses to start`,
      fix: `give ${key} a whole number from ${NUMBERS[key].min} to ${NUMBERS[key].max}` +
        ` (default ${NUMBERS[key].default || "computed"}), or drop it`,
    });
  }
  if (!executable(params.runner)) {
    problems.push({
      file: params.runner,
      key: "runner",
      problem: "the runner is not installed here (not an executable file)",
      fix: "install prep-deno on this node, or set runner= in PrEpParameters",
    });
  }
  if (!findBwrap()) {
    problems.push({
      file: "bwrap",
      key: "bubblewrap",
      problem: "bubblewrap is not installed; hooks never run without the kernel sandbox",
      fix: "apt-get install bubblewrap (or dnf install bubblewrap)",
    });
  }
  if (params.memoryMb !== undefined && params.memoryMb !== "0" && !memoryController()) {
    problems.push({
      file: "/sys/fs/cgroup",
      key: "memory_mb",
      problem: "a memory limit is set but the cgroup memory controller is not available",
      fix:
        "enable the memory controller (cgroup v2: systemd.unified_cgroup_hierarchy=1), or drop memory_mb",
    });
  }
  if (params.warm && !(await answers(params.socket))) {
    problems.push({
      file: params.socket,
      key: "mode=warm",
      problem: "the warm service does not answer on its socket; hooks fall back to the spawn path",
      fix: "systemctl enable --now prep-deno-serve (or set socket= to where it listens)",
    });
  }
  return problems;
}
