// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Deno's "not a dependency" load error, said for a hook: which name, where
 * to define it. (Deno's own hint, `deno add npm:NAME`, is no fix for a hook:
 * the policy's "imports" are.) No imports: the bundled in-sandbox entry
 * uses it.
 *
 * @module
 */

/**
 * The plain explanation of a load error that is an unknown bare name, else
 * undefined. `configPath` is the hook's policy, if it has one.
 *
 * @example
 * ```ts
 * explainUnknownImport('Import "lodash" not a dependency\n    at file:///h/a.ts:1:20', "/h/deno.json");
 * // 'the module imports "lodash", a name no import map defines (at file:///h/a.ts:1:20): add it to the "imports" of /h/deno.json, or import it by path'
 * ```
 */
export function explainUnknownImport(message: string, configPath?: string): string | undefined {
  const name = /Import "([^"]*)" not a dependency/.exec(message)?.[1] ??
    /Relative import path "([^"]*)" not prefixed/.exec(message)?.[1];
  if (name === undefined) return undefined;
  const at = /\bat (\S+:\d+:\d+)/.exec(message)?.[1];
  const where = configPath ?? "a deno.json beside the module (its policy)";
  return `the module imports "${name}", a name no import map defines${
    at ? ` (at ${at})` : ""
  }: add it to the "imports" of ${where}, or import it by path` +
    ` ("prep-deno" is always the runner's own module)`;
}

/**
 * The plain explanation of a load error that is a local file the hook
 * imports but its sandbox does not have: a module with no policy folder runs
 * alone (as Slurm's configless mode ships it), so its imports must be inside
 * it. Undefined for any other error, or when the hook has a policy folder.
 *
 * @example
 * ```ts
 * explainLoneImport('Requires read access to "/c/lib.ts"', "file:///c/prolog.ts");
 * // 'the module imports /c/lib.ts, but it runs alone ...: make it one file with `prep-deno bundle ...`'
 * ```
 */
export function explainLoneImport(
  message: string,
  moduleUrl: string,
  configPath?: string,
): string | undefined {
  const module = decodeURIComponent(new URL(moduleUrl).pathname);
  // Alone: no policy folder, or in slurmd's configless cache (SlurmdSpoolDir/conf-cache).
  const inCache = /\/conf-cache\/[^/]+$/.test(module);
  if (configPath && !inCache) return undefined;
  const path = /Requires read access to "([^"]+)"/.exec(message)?.[1] ??
    /Module not found "file:\/\/([^"]+)"/.exec(message)?.[1];
  // Only the module's own neighbours (`./lib.ts`): any other path is a grant question.
  const folder = module.slice(0, module.lastIndexOf("/") + 1);
  if (path === undefined || !decodeURIComponent(path).startsWith(folder)) return undefined;
  const name = module.slice(module.lastIndexOf("/") + 1);
  return `the module imports ${decodeURIComponent(path)}, but it runs alone: ${
    inCache ? "it is in slurmd's configless cache" : "it has no deno.json folder"
  } (Slurm's configless mode ships only the file Prolog=/Epilog= names). ` +
    `Make it one file with \`prep-deno bundle DIR -o ${name}\` (local imports inlined, the ` +
    `policy embedded) and name that bundle in slurm.conf`;
}
