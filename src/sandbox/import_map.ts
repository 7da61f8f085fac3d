// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The import map a hook runs with: `"prep-deno"` names this runner's own
 * `mod.ts` (the helpers and types the sandbox already lets in read-only),
 * and the bare names of the policy's `"imports"` work as Deno resolves them
 * from a deno.json. Hooks run with `--no-config` (a policy is not compiler
 * options), so this map is handed to Deno as a `data:` URL: no file to
 * write, bind or keep fresh; the plan that carries it is recomputed when the
 * policy changes.
 *
 * @module
 */

import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { readPolicyFile } from "./policy_file.ts";

/** The runner's src/ (this file is in src/sandbox/). */
const SRC = dirname(dirname(fileURLToPath(import.meta.url)));

/**
 * `src/mod.ts` bundled by scripts/build.ts: what `"prep-deno"` names when a
 * hook runs. A hook importing the TypeScript itself would parse and
 * transpile its whole module graph on every run (about 80 ms of a spawned
 * hook here); editors and `prep-deno check` keep the TypeScript, its types.
 */
export const RUNTIME_MODULE = fileURLToPath(new URL("../../build/mod.js", import.meta.url));

/**
 * `src/launch/child_process_shim.ts` bundled: what `"node:child_process"`
 * names when a hook runs, so the `env` its functions are given is checked
 * as `Deno.Command`'s is (src/sandbox/child_env.ts).
 */
export const CHILD_PROCESS_SHIM = fileURLToPath(
  new URL("../../build/child_process.js", import.meta.url),
);

/**
 * `src/launch/worker_threads_shim.ts` bundled: what `"node:worker_threads"`
 * names when a hook runs, so a Node worker (a realm without the env check)
 * is refused as the module's default export refuses it.
 */
export const WORKER_THREADS_SHIM = fileURLToPath(
  new URL("../build/worker_threads.js", import.meta.url),
);

/**
 * What `"node:module"` and `"node:process"` name when a hook runs: Node's
 * module as it is, once the runner's check is on Node's module objects
 * (src/child_env.ts puts it there only when a hook reaches Node; the
 * `require` and `getBuiltinModule` these modules give hand them out). A
 * `data:` URL, not a file: Deno's own wrapper of a CommonJS module imports
 * `node:module` when the module loads, and refuses a file it did not load
 * first ("unprepared module").
 */
function guardingShim(name: string): string {
  const code = `globalThis[Symbol.for("prep-deno.guardNode")]?.();` +
    `export * from "${name}";export { default } from "${name}";`;
  return `data:text/javascript,${encodeURIComponent(code)}`;
}

/** The bundles when the build made them (a sandbox binds them): else nothing. */
export function runtimeModulePaths(): string[] {
  return [RUNTIME_MODULE, CHILD_PROCESS_SHIM, WORKER_THREADS_SHIM].filter((p) => existsSync(p));
}

/**
 * Where `"prep-deno"` and `"prep-deno/testing"` resolve: this runner's own
 * source, or at run time its bundle.
 */
function runnerImports(atRunTime: boolean): Record<string, string> {
  const mod = atRunTime && existsSync(RUNTIME_MODULE) ? RUNTIME_MODULE : join(SRC, "mod.ts");
  return {
    "prep-deno": pathToFileURL(mod).href,
    "prep-deno/testing": pathToFileURL(join(SRC, "testing.ts")).href,
  };
}

/**
 * The imports of the policy at `configPath` (bare names only, relative
 * targets made absolute), then the runner's: `"prep-deno"` is always this
 * runner's own code, the one version its sandbox lets in (`atRunTime`: the
 * bundle, for hooks that run; else the TypeScript, for type checks).
 *
 * @example
 * ```ts
 * hookImports("/etc/slurm/hooks/deno.json");
 * // { "util": "file:///etc/slurm/hooks/util.ts", "prep-deno": "file:///usr/lib/prep-deno/src/mod.ts", ... }
 * ```
 */
export function hookImports(configPath?: string, atRunTime = false): Record<string, string> {
  let map: Record<string, string> = {};
  if (configPath) {
    try {
      map = readPolicyFile(configPath).imports;
    } catch { /* the policy loader already refused a file it cannot read */ }
  }
  return { ...map, ...runnerImports(atRunTime) };
}

/**
 * `hookImports(configPath, true)` as the value of Deno's `--import-map`
 * flag: the map hooks run with.
 *
 * @example
 * ```ts
 * const flags = ["--import-map", importMapUrl("/etc/slurm/hooks/deno.json")];
 * ```
 */
export function importMapUrl(configPath?: string): string {
  const imports = hookImports(configPath, true);
  const map: { imports: Record<string, string>; scopes?: Record<string, Record<string, string>> } =
    { imports };
  // Each shim, for every module but the shim itself, which gets Node's.
  for (
    const [name, file] of [
      ["node:child_process", CHILD_PROCESS_SHIM],
      ["node:worker_threads", WORKER_THREADS_SHIM],
      ["node:module", ""],
      ["node:process", ""],
    ]
  ) {
    if (file && !existsSync(file)) continue;
    const shim = file ? pathToFileURL(file).href : guardingShim(name);
    imports[name] = shim;
    map.scopes = { ...map.scopes, [shim]: { [name]: name } };
  }
  const json = JSON.stringify(map);
  const bytes = new TextEncoder().encode(json);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return `data:application/json;base64,${btoa(bin)}`;
}
