// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Byte helpers shared by the runner's halves and the warm protocol.
 *
 * @module
 */

/** Something bytes can be written to (Deno.stdout, a Deno.Conn). */
export interface ByteWriter {
  write(p: Uint8Array): Promise<number>;
}

/** Writes all of `data`, however many writes it takes. */
export async function writeAll(w: ByteWriter, data: Uint8Array): Promise<void> {
  for (let off = 0; off < data.length;) off += await w.write(data.subarray(off));
}

/**
 * Parses NUL-separated `KEY=VALUE` entries, as in /proc/PID/environ, keeping
 * the first of a repeated name (as getenv does). Bytes that are not UTF-8
 * become U+FFFD; entries without a name are skipped.
 */
export function parseEnvEntries(bytes: Uint8Array): Record<string, string> {
  const decoder = new TextDecoder("utf-8", { fatal: false });
  const env: Record<string, string> = {};
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i < bytes.length && bytes[i] !== 0) continue;
    if (i > start) {
      const entry = decoder.decode(bytes.subarray(start, i));
      const eq = entry.indexOf("=");
      if (eq > 0 && !(entry.slice(0, eq) in env)) env[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
    start = i + 1;
  }
  return env;
}
