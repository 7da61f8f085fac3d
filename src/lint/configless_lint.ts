// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * What a configless controller's `Prolog=`/`Epilog=` value will do on the
 * nodes, for `check --slurm-conf`: Slurm ships a relative value's file (and
 * only that file) into each slurmd's configless cache, so a TypeScript hook
 * there must be a bundle (src/sandbox/bundle.ts) to keep its imports and policy.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { readEmbeddedPolicy } from "../sandbox/bundle.ts";

/** One problem, in the shape of `check`'s problems: file, key, what is wrong, the fix. */
export interface ConfiglessProblem {
  readonly file: string;
  readonly key: string;
  readonly problem: string;
  readonly fix: string;
}

const MODULE = /\.(ts|mts|js)$/;
/** A static or dynamic import of a path next to the module. */
const LOCAL_IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["']\.\.?\//;

/**
 * The problems of `value`, a `Prolog=`/`Epilog=` of the configless
 * controller whose slurm.conf is `confPath` (the key is `key`); none when it
 * will run on the nodes as written.
 *
 * @example
 * ```ts
 * configlessProblems("/etc/slurm/slurm.conf", "Prolog", "prolog.ts");
 * // [] for a bundle; a problem saying to bundle it for a module with local imports
 * ```
 */
export function configlessProblems(
  confPath: string,
  key: string,
  value: string,
): ConfiglessProblem[] {
  if (value.startsWith("/") || !MODULE.test(value)) return [];
  const file = join(dirname(confPath), value);
  const name = value.slice(value.lastIndexOf("/") + 1);
  const bundleFix = `make it one file with \`prep-deno bundle DIR -o ${
    join(dirname(confPath), name)
  }\` and name it ${key}=${name}`;
  if (value.includes("/")) {
    return [{
      file: confPath,
      key,
      problem:
        `${value} is shipped to each slurmd's configless cache, a flat folder: slurmd cannot write it below a subfolder there`,
      fix: `put the hook beside slurm.conf and write ${key}=${name}`,
    }];
  }
  let text: string;
  try {
    text = Deno.readTextFileSync(file);
  } catch (e) {
    return [{ file, key, problem: `cannot be read: ${(e as Error).message}`, fix: "" }];
  }
  try {
    if (readEmbeddedPolicy(file)) return [];
  } catch (e) {
    return [{ file, key, problem: (e as Error).message, fix: bundleFix }];
  }
  const problems: ConfiglessProblem[] = [];
  if (LOCAL_IMPORT.test(text)) {
    problems.push({
      file,
      key,
      problem: "imports files beside it, but Slurm ships each slurmd this one file alone",
      fix: bundleFix,
    });
  }
  for (const policy of ["deno.json", "deno.jsonc"]) {
    try {
      Deno.statSync(join(dirname(file), policy));
    } catch {
      continue;
    }
    problems.push({
      file,
      key,
      problem:
        `its policy ${policy} stays on the controller: on the nodes the hook would run with no permission`,
      fix: bundleFix,
    });
    break;
  }
  return problems;
}
