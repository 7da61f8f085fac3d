// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `deno task build`: makes `build/prep-deno`.
 *
 * With the denort base binary (DENORT_BIN, or Deno's own download) it is a
 * real `deno compile`d single binary that embeds src/ and, by --include, the
 * worker entry (workers are not found by graph analysis). Where denort cannot
 * be had, it is a launcher that runs the identical src/main.ts with the
 * pinned Deno, and this says so in one line.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DENO_RUN_FLAGS } from "../src/self_command.ts";

const top = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(top, "build", "prep-deno");
const main = join(top, "src", "main.ts");
Deno.mkdirSync(join(top, "build"), { recursive: true });
// deno compile refuses to overwrite a file it did not make (our launcher).
try {
  Deno.removeSync(out);
} catch { /* not there yet */ }

const compile = await new Deno.Command(Deno.execPath(), {
  args: [
    "compile",
    "--quiet",
    // The flags the runner re-executes itself with are the ones baked in.
    ...DENO_RUN_FLAGS,
    "--include",
    join(top, "src", "worker.ts"),
    "--output",
    out,
    main,
  ],
  stdout: "piped",
  stderr: "piped",
}).output();

if (compile.success) {
  console.log(`build/prep-deno: single binary (deno compile, Deno ${Deno.version.deno})`);
} else {
  const stderr = new TextDecoder().decode(compile.stderr);
  const why = /request for url \((\S+)\)/.exec(stderr)?.[1]
    ? `cannot download ${/request for url \((\S+)\)/.exec(stderr)![1]}`
    : stderr.trim().split("\n").find((l) => /error/i.test(l)) ?? "deno compile failed";
  const cc = await new Deno.Command("cc", {
    args: [
      "-O2",
      "-Wall",
      "-Wextra",
      "-Werror",
      `-DPREP_DENO_DENO=${JSON.stringify(Deno.execPath())}`,
      `-DPREP_DENO_MAIN=${JSON.stringify(main)}`,
      `-DPREP_DENO_RUN_FLAGS=${DENO_RUN_FLAGS.map((f) => JSON.stringify(f)).join(",")}`,
      "-o",
      out,
      join(top, "ffi", "prep_deno_launcher.c"),
    ],
  }).output();
  if (!cc.success) {
    console.error(new TextDecoder().decode(cc.stderr));
    Deno.exit(1);
  }
  console.log(
    `build/prep-deno: launcher running src/main.ts on Deno ${Deno.version.deno} (no denort: ${why})`,
  );
}
