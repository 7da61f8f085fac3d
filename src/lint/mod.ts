// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `prep-deno check --slurm-conf`: every hook slurm.conf names, each checked
 * for what its lines need (see `hook.ts`), and the node (see `node.ts`).
 *
 * @module
 */

import { configlessProblems } from "./configless_lint.ts";
import { isModulePath } from "./module_path.ts";
import { lintHook } from "./hook.ts";
import { lintNode, parsePrepParameters } from "./node.ts";
import type { Problem } from "./problem.ts";
import { HOOK_KEYS, hookFiles, type HookKey, readSlurmConf, type SlurmConf } from "./slurm_conf.ts";
import type { HookName } from "../types.ts";

export { type Problem, problemLine } from "./problem.ts";
export { HOOK_LINTS, type HookLint, type HookLintStep, lintHook } from "./hook.ts";
export { defaultSlurmConf } from "./slurm_conf.ts";

/** The export each slurm.conf key runs. */
const HOOK_OF_KEY: Readonly<Record<HookKey, HookName>> = {
  Prolog: "prolog",
  Epilog: "epilog",
  PrologSlurmctld: "prologSlurmctld",
  EpilogSlurmctld: "epilogSlurmctld",
};

/**
 * Every problem of the hooks and the node slurm.conf at `confPath` sets up.
 *
 * @example
 * ```ts
 * import { lintSlurmConf } from "./mod.ts";
 * export async function main(): Promise<number> {
 *   const problems = await lintSlurmConf("/etc/slurm/slurm.conf");
 *   return problems.length ? 1 : 0;
 * }
 * ```
 */
export async function lintSlurmConf(confPath: string): Promise<Problem[]> {
  let conf: SlurmConf;
  try {
    conf = readSlurmConf(confPath);
  } catch (e) {
    return [{
      file: confPath,
      key: "slurm.conf",
      problem: `cannot be read: ${(e as Error).message}`,
      fix: "name the file with --slurm-conf FILE, or set SLURM_CONF",
    }];
  }
  const problems: Problem[] = [];
  const modules = new Map<
    string,
    { hooks: HookName[]; neededBy: Partial<Record<HookName, string>> }
  >();
  for (const key of HOOK_KEYS) {
    for (const value of conf.hooks[key]) {
      // Configless: what Slurm ships each slurmd is the one file.
      if (conf.configless && (key === "Prolog" || key === "Epilog")) {
        problems.push(...configlessProblems(confPath, key, value));
      }
      // Prolog and Epilog are globs (slurmd's side); the controller's are paths.
      const files = hookFiles(value, confPath, key === "Prolog" || key === "Epilog");
      if (files.length === 0) {
        problems.push({
          file: confPath,
          key,
          problem: `${key}=${value} matches no file; the plugin fails every ${key} until it does`,
          fix: "fix the path or glob, or install the hook",
        });
      }
      for (const file of files) {
        if (!isModulePath(file)) {
          problems.push(...scriptProblems(file, key));
          continue;
        }
        const m = modules.get(file) ?? { hooks: [], neededBy: {} };
        const hook = HOOK_OF_KEY[key];
        if (!m.hooks.includes(hook)) m.hooks.push(hook);
        m.neededBy[hook] = `${key}=${value} in ${confPath} runs it`;
        modules.set(file, m);
      }
    }
  }
  if (modules.size > 0 && !conf.prepPlugins.some((p) => /^(prep\/)?deno$/.test(p))) {
    problems.push({
      file: confPath,
      key: "PrEpPlugins",
      problem: `does not name prep/deno (it is "${
        conf.prepPlugins.join(",") || "script"
      }"), so the modules would run as scripts`,
      fix: "PrEpPlugins=prep/deno",
    });
  }
  for (const [file, m] of modules) problems.push(...await lintHook(file, m.hooks, m.neededBy));
  problems.push(...await lintNode(parsePrepParameters(conf.prepParameters), confPath));
  return problems;
}

/** A script hook runs as under prep/script: it must be executable. */
function scriptProblems(file: string, key: HookKey): Problem[] {
  try {
    const s = Deno.statSync(file);
    if (s.isFile && ((s.mode ?? 0) & 0o111) !== 0) return [];
  } catch { /* said below */ }
  return [{
    file,
    key,
    problem: "is a script hook that is not an executable file",
    fix: "chmod +x it, or fix the path",
  }];
}
