// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `prep-deno --version`: the runner's version (the top-level VERSION file,
 * the one the plugin's init() log line names), the Deno it runs on, and the
 * Slurm release the installed plugin was built for, read from the plugin's
 * own `plugin_version` symbol (SLURM_VERSION_NUMBER, which Slurm checks when
 * it loads a plugin), so what it says is what slurmd will see.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import VERSION from "../../VERSION" with { type: "text" };
import { isCompiled } from "../self_command.ts";

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

/**
 * The Slurm release a plugin was built for: its `plugin_version` symbol,
 * `major << 16 | minor << 8 | micro`, read from the ELF file (64-bit,
 * little-endian) without loading it.
 *
 * @example
 * ```ts
 * slurmVersionOf(Deno.readFileSync("build/prep_deno.so")); // "22.05.8"
 * ```
 * @throws {Error} when the file is not such an ELF file or has no `plugin_version`.
 */
export function slurmVersionOf(elf: Uint8Array): string {
  const v = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  if (v.getUint32(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) {
    throw new Error("not a 64-bit little-endian ELF file");
  }
  const shoff = Number(v.getBigUint64(0x28, true));
  const shentsize = v.getUint16(0x3a, true);
  const shnum = v.getUint16(0x3c, true);
  const section = (i: number) => {
    const o = shoff + i * shentsize;
    return {
      type: v.getUint32(o + 4, true),
      addr: Number(v.getBigUint64(o + 0x10, true)),
      offset: Number(v.getBigUint64(o + 0x18, true)),
      size: Number(v.getBigUint64(o + 0x20, true)),
      link: v.getUint32(o + 0x28, true),
    };
  };
  const SHT_DYNSYM = 11;
  for (let i = 0; i < shnum; i++) {
    const sym = section(i);
    if (sym.type !== SHT_DYNSYM) continue;
    const strtab = section(sym.link);
    for (let o = sym.offset; o + 24 <= sym.offset + sym.size; o += 24) {
      const nameAt = strtab.offset + v.getUint32(o, true);
      const name = new TextDecoder().decode(elf.subarray(nameAt, elf.indexOf(0, nameAt)));
      if (name !== "plugin_version") continue;
      const home = section(v.getUint16(o + 6, true));
      const value = Number(v.getBigUint64(o + 8, true));
      const n = v.getUint32(home.offset + value - home.addr, true);
      return `${n >> 16}.${String((n >> 8) & 0xff).padStart(2, "0")}.${n & 0xff}`;
    }
  }
  throw new Error("no plugin_version symbol: not a Slurm plugin");
}
