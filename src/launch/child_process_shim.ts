// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `node:child_process` as hooks import it at run time (the import map sends
 * the name here; in this module's own scope it is Node's module itself): the
 * same functions, each checking the `env` it is given the way `Deno.Command`
 * is checked (src/sandbox/child_env.ts, through the check the runner installed
 * before the hook was imported). The module's default export, which
 * `require("child_process")` and `process.getBuiltinModule()` return, gets
 * the checked functions too once anything imports this.
 *
 * @module
 */

import * as real from "node:child_process";

type Fn = (...args: unknown[]) => unknown;

const CHECK = Symbol.for("prep-deno.checkChildEnv");
// Looked up at each call, not when this module is evaluated: it may be
// evaluated before the runner installs the check.
const check = (env: unknown) =>
  (globalThis as unknown as Record<symbol, ((env: unknown) => void) | undefined>)[CHECK]?.(env);

/** The options object of a call: the first plain object after the command. */
function optionsOf(args: unknown[]): { env?: unknown } | undefined {
  for (const a of args.slice(1)) {
    if (a !== null && typeof a === "object" && !Array.isArray(a)) return a as { env?: unknown };
  }
  return undefined;
}

function checked<F extends Fn>(fn: F): F {
  return function (this: unknown, ...args: unknown[]) {
    const options = optionsOf(args);
    if (options?.env && typeof options.env === "object") {
      // Read once, as strings: what is checked is what the command gets.
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(options.env)) if (v !== undefined) env[k] = String(v);
      check(env);
      args[args.indexOf(options)] = { ...options, env };
    } else check(options?.env);
    return fn.apply(this, args);
  } as F;
}

/** `spawn`, checked. */
export const spawn: typeof real.spawn = checked(real.spawn as Fn) as typeof real.spawn;
/** `spawnSync`, checked. */
export const spawnSync: typeof real.spawnSync = checked(
  real.spawnSync as Fn,
) as typeof real.spawnSync;
/** `exec`, checked. */
export const exec: typeof real.exec = checked(real.exec as Fn) as typeof real.exec;
/** `execSync`, checked. */
export const execSync: typeof real.execSync = checked(real.execSync as Fn) as typeof real.execSync;
/** `execFile`, checked. */
export const execFile: typeof real.execFile = checked(real.execFile as Fn) as typeof real.execFile;
/** `execFileSync`, checked. */
export const execFileSync: typeof real.execFileSync = checked(
  real.execFileSync as Fn,
) as typeof real.execFileSync;
/** `fork`, checked. */
export const fork: typeof real.fork = checked(real.fork as Fn) as typeof real.fork;
/** Node's class, as it is. */
export const ChildProcess: typeof real.ChildProcess = real.ChildProcess;

// Node's module object gets the runner's check too (src/child_env.ts):
// this may be the hook's first reach into Node.
(globalThis as unknown as Record<symbol, (() => void) | undefined>)[
  Symbol.for("prep-deno.guardNode")
]?.();

const functions = { spawn, spawnSync, exec, execSync, execFile, execFileSync, fork };
// require() and process.getBuiltinModule() hand out this object (the types know it not).
const shared = (real as unknown as { default: Record<string, unknown> }).default;
Object.assign(shared, functions);

/** The module's default export (the same object `require` returns), checked. */
export default shared;
