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
 * The check lives in the hook's realm, so everything that would start a
 * realm without it, or run a command past it, is closed too: Node's
 * `child_process` functions as `require()` and `process.getBuiltinModule()`
 * give them (checked), a `Worker` the hook starts (it may run no command:
 * its `run` permission is `false`), and Node's `worker_threads` Worker
 * (refused).
 *
 * @module
 */

// Node's `events` only (a static import: no shim names it): Node's Worker
// class extends its EventEmitter, and a hook's static import of
// `node:worker_threads` reaches that class past the import map, so the
// check on EventEmitter.init must be in before the hook runs. Everything
// else of Node (`process`, `child_process`, `worker_threads`) is loaded
// only when the hook reaches for it (see guardNodeLazily): starting Node's
// compatibility layer costs a spawned hook ~20-35 ms.
import { EventEmitter } from "node:events";

// The function that puts the check on Node's module objects, under this
// name: the import-map shims call it when a hook imports them
// (src/launch/*_shim.ts).
const GUARD_NODE = Symbol.for("prep-deno.guardNode");

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
 * isUnsafeChildVar("GCONV_PATH=/tmp/x"); // true: the command sees GCONV_PATH
 * isUnsafeChildVar("SLURM_JOB_ID"); // false
 * ```
 */
export function isUnsafeChildVar(name: string): boolean {
  // A name with "=" in it ("GCONV_PATH=/tmp/x" given "y") reaches the
  // command as GCONV_PATH: judged by what precedes the first "=".
  const n = name.split("=")[0].trim().toUpperCase();
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
    const env = snapshot(options?.env);
    checkChildEnv(env, jobEnv());
    return new Original(command, env ? { ...options, env } : options);
  }
  Command.prototype = Original.prototype;
  Object.defineProperty(Original.prototype, "constructor", { value: Command });
  Object.defineProperty(Deno, "Command", { value: Command, enumerable: true });
  const check = (env: unknown) =>
    checkChildEnv(
      env && typeof env === "object" ? env as Record<string, string> : undefined,
      jobEnv(),
    );
  // For node:child_process as hooks import it (src/launch/child_process_shim.ts).
  Object.defineProperty(globalThis, Symbol.for("prep-deno.checkChildEnv"), {
    value: check,
  });
  guardWorkers();
  guardNodeLazily(check);
  const env = Deno.env;
  const set = env.set.bind(env);
  Object.defineProperty(env, "set", {
    value: (k: string, v: string) => {
      if (isUnsafeChildVar(k) && jobEnv()[k] !== String(v)) refuse(k);
      set(k, v);
    },
  });
}

/**
 * An `env` option read once, as strings: what is checked is what the
 * command gets (a getter could answer the check one value and the spawn
 * another). Unset values are left out, as Node leaves them.
 */
function snapshot(env: unknown): Record<string, string> | undefined {
  if (!env || typeof env !== "object") return undefined;
  const copy: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) copy[k] = String(v);
  return copy;
}

/** Deno's permission names: a hook's Worker inherits each but `run`. */
/** Why a Node worker is refused. */
const nodeWorkerRefusal = () =>
  new Error(
    "prep-deno: a hook cannot start a node:worker_threads Worker (its commands would pass " +
      "the environment check); use a Worker, which may run no command",
  );

/** The host `import` must be granted for `npm:` packages to load (src/launch/plan.ts). */
const NPM_REGISTRY_HOST = "registry.npmjs.org";

/**
 * Puts the check on Node's `child_process` module object (what `require()`
 * and `process.getBuiltinModule()` hand out) and refuses its
 * `worker_threads` Worker there, at the first of: the hook reading the
 * global `process` (the getter Deno starts Node's layer from, wrapped: the
 * original is not handed out), importing one of the shims (`node:process`,
 * `node:module`, `node:child_process`, `node:worker_threads`, which call
 * the function at `GUARD_NODE`), or, when `npm:` packages may load (their
 * `require` reaches Node's modules with neither), before the hook runs.
 * A hook that does none of these never starts Node's layer.
 */
function guardNodeLazily(check: (env: unknown) => void): void {
  const desc = Object.getOwnPropertyDescriptor(globalThis, "process");
  const getProcess = desc?.get
    ? () => desc.get!.call(globalThis)
    : () => (desc?.value ?? undefined);
  let done = false;
  const install = () => {
    if (done) return;
    // deno-lint-ignore no-explicit-any
    const builtin = (name: string): any =>
      (getProcess() as { getBuiltinModule(n: string): unknown }).getBuiltinModule(name);
    const shared = builtin("node:child_process") as Record<string, (...a: unknown[]) => unknown>;
    for (
      const name of ["spawn", "spawnSync", "exec", "execSync", "execFile", "execFileSync", "fork"]
    ) {
      const fn = shared[name];
      shared[name] = function (this: unknown, ...args: unknown[]) {
        const at = args.findIndex((a, i) =>
          i > 0 && a !== null && typeof a === "object" && !Array.isArray(a)
        );
        const options = at > 0 ? args[at] as { env?: unknown } : undefined;
        const env = snapshot(options?.env);
        check(env);
        if (env) args[at] = { ...options, env };
        return fn.apply(this, args);
      };
    }
    (builtin("node:worker_threads") as Record<string, unknown>).Worker = function Worker() {
      throw nodeWorkerRefusal();
    };
    // Set last: a failure above leaves the next reach to try again.
    done = true;
  };
  Object.defineProperty(globalThis, GUARD_NODE, { value: install });
  // Whether the check went on Node's modules, read without reaching Node
  // (tests/runner/child_env_test.ts shows a hook of no Node never does).
  Object.defineProperty(globalThis, Symbol.for("prep-deno.nodeGuarded"), { get: () => done });
  if (desc?.get) {
    Object.defineProperty(globalThis, "process", {
      get: function process() {
        install();
        return getProcess();
      },
      set: desc.set,
      enumerable: desc.enumerable,
      configurable: desc.configurable,
    });
  }
  // Never true (`check` takes one argument): the literal import()s name the
  // import map's node:module and node:process shims, which puts them in the
  // module graph Deno prepares before the entry runs. Deno's wrapper of a
  // CommonJS module imports node:module as the module loads, and a module
  // not prepared before is refused ("Loading unprepared module").
  if (check.length > 1) void Promise.all([import("node:module"), import("node:process")]);
  const npm = Deno.permissions.querySync?.({ name: "import", host: NPM_REGISTRY_HOST });
  if (npm?.state === "granted") install();
}

const WORKER_INHERITS = ["env", "ffi", "import", "net", "read", "sys", "write"];

/**
 * A Worker's realm has a `Deno.Command` without the check: the Workers a
 * hook starts get its permissions but `run` (Deno refuses every command
 * there, whatever the Worker asks for), and Node's `worker_threads` Worker,
 * which takes no permissions, is refused. The original class is not
 * reachable from the new one, as with `Deno.Command`.
 */
function guardWorkers(): void {
  const Original = globalThis.Worker;
  function Worker(this: unknown, url: string | URL, options?: WorkerOptions) {
    if (!new.target) {
      throw new TypeError("Failed to construct 'Worker': Please use the 'new' operator");
    }
    const asked = (options as { deno?: { permissions?: unknown } } | undefined)?.deno?.permissions;
    const permissions: Record<string, unknown> = {};
    for (const k of WORKER_INHERITS) permissions[k] = "inherit";
    if (asked === "none") { for (const k of WORKER_INHERITS) permissions[k] = false; }
    else if (asked && typeof asked === "object") Object.assign(permissions, asked);
    permissions.run = false;
    const deno = { ...(options as { deno?: object } | undefined)?.deno, permissions };
    return new Original(url, { ...options, deno } as WorkerOptions);
  }
  Worker.prototype = Original.prototype;
  Object.defineProperty(Original.prototype, "constructor", { value: Worker });
  Object.defineProperty(globalThis, "Worker", {
    value: Worker,
    writable: true,
    configurable: true,
  });
  guardNodeWorkerClass(nodeWorkerRefusal);
}

/**
 * Node's Worker class as a static `import { Worker } from
 * "node:worker_threads"` gives it: Deno resolves that import past the import
 * map, so the class itself must refuse. It extends `EventEmitter`, whose
 * constructor calls `EventEmitter.init`: the check there refuses when Node's
 * Worker constructor is on the stack, which neither a subclass nor
 * `Reflect.construct` hides. The stack is read with the runner's own
 * `prepareStackTrace` (the hook's stays in effect for everything else) and
 * a limit it sets; a hook that pins the limit low gets no EventEmitter at
 * all, rather than an unchecked Worker.
 */
function guardNodeWorkerClass(refusal: () => Error): void {
  const E = Error as unknown as {
    prepareStackTrace?: unknown;
    stackTraceLimit: number;
    captureStackTrace(o: object): void;
  };
  let theirs = E.prepareStackTrace;
  let reading = false;
  const names = (_e: unknown, sites: { getFunctionName(): string | null }[]) =>
    sites.map((s) => s.getFunctionName() ?? "");
  Object.defineProperty(Error, "prepareStackTrace", {
    get: () => reading ? names : theirs,
    set: (v) => theirs = v,
    configurable: false,
  });
  const capture = E.captureStackTrace.bind(Error);
  const init = (EventEmitter as unknown as { init: (...a: unknown[]) => unknown }).init;
  Object.defineProperty(EventEmitter, "init", {
    value: function (this: unknown, ...args: unknown[]) {
      const limit = E.stackTraceLimit;
      const probe: { stack?: unknown } = {};
      let deep = false;
      let frames: unknown;
      reading = true;
      try {
        E.stackTraceLimit = 16;
        deep = E.stackTraceLimit === 16;
        capture(probe);
        frames = probe.stack; // formatted when first read: inside the window
      } catch {
        /* a pinned limit: judged below */
      } finally {
        reading = false;
        try {
          E.stackTraceLimit = limit;
        } catch { /* pinned */ }
      }
      if (!deep || !Array.isArray(frames) || frames.includes("NodeWorker")) {
        throw refusal();
      }
      return init.apply(this, args);
    },
    writable: false,
    configurable: false,
  });
}
