// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The variables a command a hook runs never gets from the hook: those that
 * make a program load code, or read files and settings, named by whoever
 * sets them. A hook allowed to run `/usr/bin/iconv` could otherwise point
 * `GCONV_PATH` at a module it wrote and run its own code as root, past its
 * Deno permissions. The list is glibc's for setuid programs
 * (`sysdeps/generic/unsecvars.h`), every `LD_`/`DYLD_`/`MALLOC_` name, and
 * the shells' and interpreters' start-up hooks.
 *
 * A command still gets such a variable when the job's own environment (what
 * a shell prolog under prep/script gets from slurmd) has it, with that
 * value: a hook cannot add one or change its value; it can remove one.
 *
 * @module
 */

/** glibc's `UNSECURE_ENVVARS`, and the like for shells and interpreters. */
export const UNSAFE_CHILD_VARS: readonly string[] = [
  // glibc, sysdeps/generic/unsecvars.h
  "GCONV_PATH",
  "GETCONF_DIR",
  "GLIBC_TUNABLES",
  "HOSTALIASES",
  "LOCALDOMAIN",
  "LOCPATH",
  "NIS_PATH",
  "NLSPATH",
  "RESOLV_HOST_CONF",
  "RES_OPTIONS",
  "TMPDIR",
  "TZDIR",
  // Shells: code run at start-up, or on every command.
  "BASH_ENV",
  "ENV",
  "SHELLOPTS",
  "BASHOPTS",
  "PS4",
  "PROMPT_COMMAND",
  "IFS",
  // Interpreters' module paths and start-up code.
  "PYTHONPATH",
  "PYTHONHOME",
  "PYTHONSTARTUP",
  "PYTHONUSERBASE",
  "PERL5LIB",
  "PERLLIB",
  "PERL5OPT",
  "RUBYLIB",
  "RUBYOPT",
  "NODE_OPTIONS",
  "NODE_PATH",
  "LUA_PATH",
  "LUA_CPATH",
  "LUA_INIT",
  "TCLLIBPATH",
  "OPENSSL_CONF",
  "OPENSSL_ENGINES",
  "SSLKEYLOGFILE",
];

/** Prefixes of names refused the same way: the loader, malloc, exported bash functions. */
export const UNSAFE_CHILD_PREFIXES: readonly string[] = ["LD_", "DYLD_", "MALLOC_", "BASH_FUNC_"];

/**
 * Whether `name` is one a hook cannot give a command.
 *
 * @example
 * ```ts
 * isUnsafeChildVar("GCONV_PATH"); // true
 * isUnsafeChildVar("LD_PRELOAD"); // true
 * isUnsafeChildVar("SLURM_JOB_ID"); // false
 * ```
 */
export function isUnsafeChildVar(name: string): boolean {
  const n = name.trim().toUpperCase();
  return UNSAFE_CHILD_VARS.includes(n) || UNSAFE_CHILD_PREFIXES.some((p) => n.startsWith(p));
}

/** A hook gave a command a variable it may not: names it. */
export class UnsafeChildEnv extends Error {
  override name = "UnsafeChildEnv";
}

function refuse(name: string): never {
  throw new UnsafeChildEnv(
    `prep-deno: a command a hook runs cannot be given ${name}: it makes programs load code or ` +
      `files it names (a loader or search-path variable; see docs/sandbox.md)`,
  );
}

/**
 * Checks the variables a hook passes to a command: a name of
 * {@linkcode isUnsafeChildVar} only with the job's own value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkChildEnv, UnsafeChildEnv } from "./child_env.ts";
 * checkChildEnv({ FOO: "1" }, {}); // fine
 * assert.throws(() => checkChildEnv({ GCONV_PATH: "/tmp/x" }, {}), UnsafeChildEnv);
 * ```
 * @throws {UnsafeChildEnv} naming the first variable refused.
 */
export function checkChildEnv(
  env: Readonly<Record<string, string>> | undefined,
  jobEnv: Readonly<Record<string, string>>,
): void {
  for (const [k, v] of Object.entries(env ?? {})) {
    if (isUnsafeChildVar(k) && jobEnv[k] !== String(v)) refuse(k);
  }
}

/**
 * Installs the check around `Deno.Command` (its `env` option) and
 * `Deno.env.set` (what later commands inherit; `process.env` goes through
 * it), before the hook's module is imported. `jobEnv` gives the current
 * job's environment. The original class is no longer reachable from the
 * new one (no `extends`, its prototype's `constructor` points to the new).
 *
 * @example
 * ```ts
 * import { guardChildEnv } from "./child_env.ts";
 * // In the entry, before `await import(moduleUrl)`:
 * export function guard(env: Record<string, string>) {
 *   guardChildEnv(() => env);
 * }
 * ```
 */
export function guardChildEnv(jobEnv: () => Readonly<Record<string, string>>): void {
  const Original = Deno.Command;
  function Command(this: unknown, command: string | URL, options?: Deno.CommandOptions) {
    if (!new.target) {
      throw new TypeError("Class constructor Command cannot be invoked without 'new'");
    }
    checkChildEnv(options?.env, jobEnv());
    return new Original(command, options);
  }
  Command.prototype = Original.prototype;
  Object.defineProperty(Original.prototype, "constructor", { value: Command });
  Object.defineProperty(Deno, "Command", { value: Command, enumerable: true });
  // For node:child_process as hooks import it (src/launch/child_process_shim.ts).
  Object.defineProperty(globalThis, Symbol.for("prep-deno.checkChildEnv"), {
    value: (env: unknown) =>
      checkChildEnv(
        env && typeof env === "object" ? env as Record<string, string> : undefined,
        jobEnv(),
      ),
  });
  const env = Deno.env;
  const set = env.set.bind(env);
  Object.defineProperty(env, "set", {
    value: (k: string, v: string) => {
      if (isUnsafeChildVar(k) && jobEnv()[k] !== String(v)) refuse(k);
      set(k, v);
    },
  });
}
