// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `prep-deno --version`: the runner's version (the top-level VERSION file,
 * the one the plugin's init() log line names), the Deno it runs on, and the
 * Slurm release the installed plugin was built for, read from the plugin's
 * own `plugin_version` symbol (SLURM_VERSION_NUMBER, which Slurm checks when
 * it loads a plugin; src/plugin_file.ts), so what it says is what slurmd
 * will see.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import VERSION from "../../VERSION" with { type: "text" };
import { isCompiled } from "../self_command.ts";
import { slurmVersionOf } from "../plugin_file.ts";

/** This runner's version, from the top-level VERSION file. */
const RUNNER_VERSION: string = VERSION.trim();

/** Where a plugin is looked for: beside a source tree's build/, then Slurm's usual PluginDirs. */
function pluginCandidates(): string[] {
  const own = isCompiled()
    ? []
    : [join(dirname(fileURLToPath(import.meta.url)), "../../build/prep_deno.so")];
  return [
    ...own,
    "/usr/lib/x86_64-linux-gnu/slurm-wlm/prep_deno.so",
    "/usr/lib/aarch64-linux-gnu/slurm-wlm/prep_deno.so",
    "/usr/lib64/slurm/prep_deno.so",
    "/usr/lib/slurm/prep_deno.so",
    "/usr/local/lib/slurm/prep_deno.so",
  ];
}

/** Runs `--version`; always 0. */
export function versionCommand(): number {
  console.log(`prep-deno ${RUNNER_VERSION}`);
  console.log(
    `deno ${Deno.version.deno} (v8 ${Deno.version.v8}, typescript ${Deno.version.typescript})`,
  );
  const found = pluginCandidates().find((p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  });
  if (!found) {
    console.log(`plugin: not installed (looked for ${pluginCandidates().join(", ")})`);
    return 0;
  }
  let slurm: string;
  try {
    slurm = `Slurm ${slurmVersionOf(Deno.readFileSync(found))}`;
  } catch (e) {
    slurm = `unknown Slurm (${(e as Error).message})`;
  }
  console.log(`plugin: ${found}, built for ${slurm}`);
  return 0;
}
