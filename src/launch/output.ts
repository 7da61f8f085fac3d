// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The output cap of a hook, the same in both modes: the first
 * `MAX_OUTPUT` bytes (src/contract.ts, the plugin's own cap) are kept for
 * the log, the rest is read and dropped (so the hook never blocks on a full
 * pipe), and one note, `truncationNote()`, the plugin's text too, says how
 * much was dropped. Streams: nothing past the cap is ever held.
 *
 * @module
 */

import { MAX_OUTPUT, truncationNote } from "../contract.ts";

/**
 * Collects output up to the cap.
 *
 * @example
 * ```ts
 * const out = new CappedOutput();
 * out.push(new Uint8Array(2 * 1024 * 1024));
 * out.bytes().length; // 1 MiB plus the note
 * ```
 */
export class CappedOutput {
  #chunks: Uint8Array[] = [];
  #kept = 0;
  #dropped = 0;
  constructor(readonly cap: number = MAX_OUTPUT) {}

  /**
   * Adds a chunk; whatever passes the cap is counted and dropped. Returns
   * the part kept (empty once the cap is reached).
   */
  push(chunk: Uint8Array): Uint8Array {
    const room = this.cap - this.#kept;
    const keep = Math.max(0, Math.min(room, chunk.length));
    const kept = chunk.slice(0, keep);
    if (keep > 0) {
      this.#chunks.push(kept);
      this.#kept += keep;
    }
    this.#dropped += chunk.length - keep;
    return kept;
  }

  /** Bytes dropped so far. */
  get dropped(): number {
    return this.#dropped;
  }

  /**
   * Counts at least `count` bytes dropped in all (a count made elsewhere:
   * a warm host's, whose kept bytes alone cross to the service).
   */
  droppedAtLeast(count: number): void {
    if (count > this.#dropped) this.#dropped = count;
  }

  /** What is kept, plus the note when something was dropped. */
  bytes(): Uint8Array {
    const note = this.#dropped ? new TextEncoder().encode(truncationNote(this.#dropped)) : null;
    const out = new Uint8Array(this.#kept + (note?.length ?? 0));
    let off = 0;
    for (const c of this.#chunks) out.set(c, off), off += c.length;
    if (note) out.set(note, off);
    return out;
  }
}

/**
 * Copies a stream to `write` as it comes, up to the cap; the rest is read
 * and dropped, and the note written once the stream ends.
 */
export async function pipeCapped(
  stream: ReadableStream<Uint8Array>,
  write: (chunk: Uint8Array) => Promise<unknown>,
  cap: number = MAX_OUTPUT,
): Promise<number> {
  let kept = 0;
  let dropped = 0;
  for await (const chunk of stream) {
    const keep = Math.min(cap - kept, chunk.length);
    if (keep > 0) await write(chunk.subarray(0, keep));
    kept += keep;
    dropped += chunk.length - keep;
  }
  if (dropped) await write(new TextEncoder().encode(truncationNote(dropped)));
  return dropped;
}
