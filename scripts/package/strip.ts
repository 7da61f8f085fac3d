// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Debug symbols out of the package's own ELF files, as debhelper's dh_strip
 * does: each file's symbols go to `/usr/lib/debug/.build-id/XX/YYYY.debug`
 * (the path gdb and debuginfod look up by the file's build ID) in a separate
 * tree, and the shipped file is stripped.
 *
 * @module
 */

import { dirname, join } from "node:path";

function run(cmd: string, args: string[]): string {
  const out = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).outputSync();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/**
 * The GNU build ID of an ELF file, as hex.
 *
 * @example
 * ```ts
 * buildId("/usr/bin/true"); // "a1b2..." (40 hex digits)
 * ```
 */
export function buildId(file: string): string {
  const id = /Build ID: ([0-9a-f]+)/.exec(run("readelf", ["-n", file]))?.[1];
  if (!id) throw new Error(`${file} has no GNU build ID: build it with --build-id`);
  return id;
}

/**
 * Moves the debug symbols of `files` (paths under `root`) into `debugRoot`
 * and strips them; returns their build IDs.
 */
export function splitDebug(root: string, files: string[], debugRoot: string): string[] {
  return files.map((f) => {
    const file = join(root, f);
    const id = buildId(file);
    const debug = join(
      debugRoot,
      "usr/lib/debug/.build-id",
      id.slice(0, 2),
      `${id.slice(2)}.debug`,
    );
    Deno.mkdirSync(dirname(debug), { recursive: true });
    run("objcopy", ["--only-keep-debug", "--compress-debug-sections", file, debug]);
    Deno.chmodSync(debug, 0o644);
    run("strip", ["--remove-section=.comment", "--remove-section=.note", "--strip-unneeded", file]);
    return id;
  });
}
