// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `deno task build`: makes the runner.
 *
 * - build/entry.js: the in-sandbox entry (src/launch/entry.ts) bundled, so
 *   no hook ever transpiles the runner's own code; build/entry.analysis.db,
 *   Deno's analysis of it, copied into each hook's empty DENO_DIR so no
 *   hook parses it either (src/launch/constants.ts).
 * - build/prep-deno-walk: what the helpers do as root in folders users can
 *   write, by descriptor (src/walk/*.c; docs/security.md): its own binary,
 *   so a hook allowed to run it is allowed no other program.
 * - build/prep-deno: the native front (src/launcher/*.c): the hot path of
 *   `run` starts exactly one Deno process; every other command runs
 *   src/main.ts on the pinned Deno. The values it shares with TypeScript
 *   are src/launcher/contract.h, and those the plugin shares are
 *   ffi/prep_deno_contract.h, both generated from their one definition,
 *   src/contract.ts (src/contract_c.ts): this writes them when stale.
 *   `prep-deno __contract` says the launcher's back. Only the build's own
 *   values (the Deno binary, src/main.ts, Deno's flags, the build id) are
 *   handed to the compiler as -D.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DENO_RUN_FLAGS } from "../src/self_command.ts";
import { writeContractHeaders } from "../src/contract_c.ts";
import { DENO_ANALYSIS_CACHE, ENTRY_ANALYSIS_FILE } from "../src/launch/constants.ts";
import { DatabaseSync } from "node:sqlite";

const top = join(dirname(fileURLToPath(import.meta.url)), "..");
const build = join(top, "build");
const out = join(build, "prep-deno");
const main = join(top, "src", "main.ts");
Deno.mkdirSync(build, { recursive: true });

async function run(cmd: string, args: string[], env?: Record<string, string>): Promise<void> {
  const r = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" }).output();
  if (!r.success) {
    console.error(`${cmd} ${args.join(" ")}:\n${new TextDecoder().decode(r.stderr)}`);
    Deno.exit(1);
  }
}

/**
 * What is bundled (one file each: nothing is transpiled where it runs), and
 * why: the output in build/, its source under src/.
 */
const BUNDLES: [out: string, source: string][] = [
  // The in-sandbox entry of every spawned hook.
  ["entry.js", "launch/entry.ts"],
  // "prep-deno" as hooks import it at run time (src/sandbox/import_map.ts).
  ["mod.js", "mod.ts"],
  // "node:child_process" as hooks import it at run time: its env checked.
  ["child_process.js", "launch/child_process_shim.ts"],
  // "node:worker_threads" likewise: its Worker refused (src/sandbox/child_env.ts).
  ["worker_threads.js", "launch/worker_threads_shim.ts"],
  // The warm hosts' Worker: a fresh-isolate job makes one, and one file
  // costs it about a fifth less CPU than the modules.
  ["job_worker.js", "warm/job_worker.ts"],
  // The warm host's program: a host neither transpiles nor holds the CLI.
  ["warm_host.js", "warm/host_main.ts"],
];
for (const [out, source] of BUNDLES) {
  await run(Deno.execPath(), [
    "bundle",
    "--quiet",
    "--no-config",
    "--no-lock",
    "--output",
    join(build, out),
    join(top, "src", source),
  ]);
}

// Deno's analysis of the entry and of "prep-deno", which every spawned hook
// would otherwise redo in its empty DENO_DIR: one file the launcher copies in.
const analysisDir = Deno.makeTempDirSync({ prefix: "prep-deno-build-" });
try {
  await run(Deno.execPath(), [
    "cache",
    "--quiet",
    "--no-config",
    "--no-lock",
    join(build, "entry.js"),
    join(build, "mod.js"),
  ], { DENO_DIR: analysisDir });
  // One self-contained file: the write-ahead log folded in.
  const db = new DatabaseSync(join(analysisDir, DENO_ANALYSIS_CACHE));
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  db.close();
  Deno.copyFileSync(join(analysisDir, DENO_ANALYSIS_CACHE), join(build, ENTRY_ANALYSIS_FILE));
  Deno.chmodSync(join(build, ENTRY_ANALYSIS_FILE), 0o644);
} finally {
  Deno.removeSync(analysisDir, { recursive: true });
}

for (const path of writeContractHeaders(top)) {
  console.log(`${path}: generated from src/contract.ts`);
}

const str = (s: string) => JSON.stringify(s);
const launcherDir = join(top, "src", "launcher");
const sources = [...Deno.readDirSync(launcherDir)]
  .filter((e) => e.name.endsWith(".c"))
  .map((e) => join(launcherDir, e.name))
  .sort();
const defines: Record<string, string> = {
  PREP_DENO_DENO: str(Deno.execPath()),
  PREP_DENO_MAIN: str(main),
  PREP_DENO_RUN_FLAGS: DENO_RUN_FLAGS.map(str).join(","),
  // A new build never trusts plans an older one cached.
  PREP_DENO_BUILD_ID: str(`${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 8)}`),
};
// Replace, never write through: a running launcher keeps its own inode.
try {
  Deno.removeSync(out);
} catch { /* not there yet */ }
// Debian's hardening flags (lintian checks them in the package): fortified
// libc calls, a stack protector, read-only relocations bound at start.
const CFLAGS = [
  "-O2",
  "-g",
  "-D_FORTIFY_SOURCE=2",
  "-fstack-protector-strong",
  "-Wl,-z,relro,-z,now",
  "-Wall",
  "-Wextra",
  "-Werror",
];
await run("cc", [
  ...CFLAGS,
  ...Object.entries(defines).map(([k, v]) => `-D${k}=${v}`),
  "-o",
  out,
  ...sources,
]);
// The helpers' walk tool: no -D, nothing of the launcher's.
const walkOut = join(build, "prep-deno-walk");
const walkDir = join(top, "src", "walk");
try {
  Deno.removeSync(walkOut);
} catch { /* not there yet */ }
await run("cc", [
  ...CFLAGS,
  "-o",
  walkOut,
  ...[...Deno.readDirSync(walkDir)].filter((e) => e.name.endsWith(".c")).map((e) =>
    join(walkDir, e.name)
  ).sort(),
]);
console.log(
  `build/prep-deno: native launcher + build/entry.js, src/main.ts on Deno ${Deno.version.deno}`,
);
