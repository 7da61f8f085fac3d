// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * What a built plugin says about itself without being loaded: the Slurm
 * release it was built for, from its ELF file. `prep-deno --version` and
 * the packaging (scripts/package.ts) read it the same way.
 *
 * @module
 */

/**
 * The Slurm release a plugin was built for: its `plugin_version` symbol,
 * `major << 16 | minor << 8 | micro`, read from the ELF file (64-bit,
 * little-endian) without loading it.
 *
 * @example
 * ```ts
 * import { slurmVersionOf } from "./plugin_file.ts";
 * export function builtFor(plugin = "build/prep_deno.so"): string {
 *   return slurmVersionOf(Deno.readFileSync(plugin)); // "22.05.8"
 * }
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
