// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `prep-deno init [DIR]`: starts a hooks folder: its policy (`deno.json`,
 * every key commented), a hook module and its unit test, so that
 * `deno test` passes and `prep-deno try` runs the hook out of the box.
 *
 * @module
 */

import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { isCompiled } from "../self_command.ts";
import { parseCommand, UsageError } from "./args.ts";

/** Where the hook types and the testing module are installed by the package. */
const INSTALLED_LIB = "/usr/lib/prep-deno/src";

/** `init --help`. */
const INIT_HELP = `Usage: prep-deno init [DIR] [--lib DIR]

Starts a hooks folder in DIR (default: the current folder):
  deno.json      the policy: Deno permission sets and the kernel view ("sandbox")
                 per hook, every key explained; an import map for "prep-deno"
  site.ts        a hook module: a Prolog and an Epilog using the job context
  site_test.ts   its unit tests, on the fake job \`prep-deno try\` uses

Then: cd DIR && deno test && prep-deno try site.ts
Existing files are never overwritten.

  --lib DIR  where "prep-deno" and "prep-deno/testing" resolve (default: this
             runner's own source, ${INSTALLED_LIB} when installed)
`;

/** The folder holding mod.ts and testing.ts for this runner. */
export function libDir(): string {
  if (isCompiled()) return INSTALLED_LIB;
  return dirname(fileURLToPath(new URL("../mod.ts", import.meta.url)));
}

/** Runs `init`; 0 when the folder was made. */
export function initCommand(args: string[]): number {
  const { values, positionals } = parseCommand("init", args, { lib: { type: "string" } });
  if (values.help) {
    console.log(INIT_HELP);
    return 0;
  }
  if (positionals.length > 1) {
    throw new UsageError(`init: expected at most one DIR, got ${positionals.length} arguments`);
  }
  const dir = resolve(positionals[0] ?? ".");
  const lib = resolve((values.lib as string | undefined) ?? libDir());
  for (const f of ["mod.ts", "testing.ts"]) {
    if (!exists(join(lib, f))) {
      throw new UsageError(`init: --lib ${lib} has no ${f}; point it at prep-deno's src/ folder`);
    }
  }
  const files = scaffold(lib);
  const clashes = Object.keys(files).filter((f) => exists(join(dir, f)));
  if (clashes.length) {
    throw new UsageError(
      `init: ${dir} already has ${clashes.join(", ")}; nothing was written (pick another DIR)`,
    );
  }
  try {
    Deno.mkdirSync(dir, { recursive: true, mode: 0o755 });
    for (const [name, text] of Object.entries(files)) {
      Deno.writeTextFileSync(join(dir, name), text, { mode: 0o644, createNew: true });
    }
  } catch (e) {
    console.error(`prep-deno init: cannot write in ${dir}: ${(e as Error).message}`);
    return 1;
  }
  console.log(`prep-deno init: wrote ${Object.keys(files).join(", ")} in ${dir}

Next:
  cd ${dir}
  deno test               # the unit tests, on a fake job
  prep-deno try site.ts   # the Prolog, in its sandbox, as slurmd would run it
  prep-deno check site.ts # types and each hook's permissions

Then in slurm.conf, on every node and the controller, and restart slurmd and slurmctld:
  PrEpPlugins=prep/deno
  Prolog=${join(dir, "site.ts")}
  Epilog=${join(dir, "site.ts")}
(without PrEpPlugins=prep/deno, Slurm's prep/script would execute site.ts itself
and fail with "Permission denied", draining the node.)
Keep this folder and the folders above it owned by root and writable by root only:
the policy is what the hooks may do.`);
  return 0;
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The files of a new hooks folder, by name. */
export function scaffold(lib: string): Record<string, string> {
  const mod = pathToFileURL(join(lib, "mod.ts")).href;
  const testing = pathToFileURL(join(lib, "testing.ts")).href;
  return {
    "deno.json": POLICY.replace("@MOD@", mod).replace("@TESTING@", testing),
    "site.ts": hasHelpers(lib) ? hookWithHelpers() : HOOK,
    "site_test.ts": hasHelpers(lib) ? TEST + TEST_HELPERS : TEST,
  };
}

const POLICY = `// The policy of the hooks in this folder (prep-deno(8), "Sandbox"). A hook gets the
// set named after it (prolog, epilog, prologSlurmctld, epilogSlurmctld), else
// "default", else nothing at all. See what each hook gets: prep-deno check site.ts
{
  // Deno's own permission sets: read, write, net, env, run, ffi, sys, import, each
  // true or a list; relative paths are relative to this file. A denied access fails
  // the hook with a message naming the set and the list to add it to.
  "permissions": {
    // Every hook without a set of its own: nothing but its job context.
    "default": {},
    // The Prolog's own set. Examples: "read": ["/etc/slurm/site.d"],
    // "write": ["/scratch"], "env": ["TZ"], "net": ["health.example.org:443"].
    "prolog": {}
  },

  // The kernel view (bubblewrap) of each hook, by the same set names. Least
  // privilege when absent; each key widens it.
  "sandbox": {
    "default": {
      // "read": ["/etc/slurm/site.d"],  host paths bound read-only (default: the permission set's read list)
      // "write": ["/scratch"],           host paths bound read-write (default: the permission set's write list)
      // "devices": ["/dev/nvidia*"],     device nodes the hook and its commands may use
      // "capabilities": ["CAP_CHOWN"],   capabilities kept (all are dropped otherwise)
      // "processes": "host",             the node's processes: list and signal them (Epilog cleanup)
      // "slurm": true                    Slurm's commands work: slurm.conf, munge, the controller
    }
  },

  // For editors, deno check and deno test: where "prep-deno" (the job context types
  // and the helpers) and "prep-deno/testing" (the fake job) are. The runner itself
  // always maps "prep-deno" to its own copy; your other names here work under it too.
  "imports": {
    "prep-deno": "@MOD@",
    "prep-deno/testing": "@TESTING@"
  }
}
`;

/** Whether the runner at `lib` has the run-time helpers (its mod.ts exports jobOutputPaths). */
function hasHelpers(lib: string): boolean {
  try {
    return /\bjobOutputPaths\b/.test(Deno.readTextFileSync(join(lib, "helpers", "mod.ts")));
  } catch {
    return false;
  }
}

/**
 * The hook, using a helper at run time: "prep-deno" names the runner's own
 * mod.ts under `deno test` and `check` (this folder's import map) and under
 * the runner (its own import map, the only version its sandbox lets in).
 */
function hookWithHelpers(): string {
  return HOOK.replace(
    'import type { JobContext } from "prep-deno";\n',
    'import { type JobContext, jobOutputPaths } from "prep-deno";\n',
  ).replace(
    "export function epilog(job: JobContext): void {\n",
    "export function epilog(job: JobContext): void {\n" +
      "  const { stdout } = jobOutputPaths(job); // %j, %u... expanded, as sbatch does\n" +
      "  console.log(`epilog: job ${job.id} wrote its output to ${stdout}`);\n",
  );
}

const HOOK = `// Slurm hooks for this site: Prolog=/path/site.ts and Epilog=/path/site.ts in
// slurm.conf (with PrEpPlugins=prep/deno). Each export serves the hook of its name.
import type { JobContext } from "prep-deno";

/** Before the job starts on a node: a non-zero status drains the node and requeues the job. */
export function prolog(job: JobContext): number | void {
  console.log(
    \`prolog: job \${job.id} of \${job.user} on \${job.nodeName} (\${job.hostnames.length} nodes)\`,
  );
  if (job.partition === "gpu" && !job.env.CUDA_VISIBLE_DEVICES) {
    console.error(
      \`job \${job.id}: no GPU was given to a job of the gpu partition\`,
    );
    return 1;
  }
}

/** After the job: a non-zero status drains the node. */
export function epilog(job: JobContext): void {
  console.log(
    \`epilog: job \${job.id} ended with exit code \${job.exitCode}, signal \${job.signal}\`,
  );
}
`;

const TEST = `// Unit tests of site.ts on a fake job: deno test
import { equal } from "node:assert/strict";
import { callHook } from "prep-deno/testing";
import * as hooks from "./site.ts";

Deno.test("prolog lets an ordinary job start", async () => {
  const r = await callHook(hooks, "prolog", { id: 7, user: "alice" });
  equal(r.status, 0, r.reason);
});

Deno.test("prolog refuses a gpu job that has no GPU", async () => {
  const r = await callHook(hooks, "prolog", {
    env: { SLURM_JOB_PARTITION: "gpu" },
  });
  equal(r.status, 1);
});

Deno.test("prolog lets a gpu job with GPUs start", async () => {
  const env = { SLURM_JOB_PARTITION: "gpu", CUDA_VISIBLE_DEVICES: "0,1" };
  equal((await callHook(hooks, "prolog", { env })).status, 0);
});

Deno.test("epilog succeeds for a job that failed", async () => {
  const r = await callHook(hooks, "epilog", {
    env: { SLURM_JOB_EXIT_CODE2: "1:0" },
  });
  equal(r.status, 0, r.reason);
});
`;

const TEST_HELPERS = `
Deno.test("epilog names the job's output file with its patterns expanded", async () => {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => void lines.push(args.join(" "));
  try {
    await callHook(hooks, "epilog", {
      id: 42,
      env: { SLURM_JOB_STDOUT: "/scratch/out-%j.txt" },
    });
  } finally {
    console.log = log;
  }
  equal(lines[0], "epilog: job 42 wrote its output to /scratch/out-42.txt");
});
`;
