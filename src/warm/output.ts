// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * A job's output in a warm host, capped as in the spawn path: the first
 * 1 MiB kept, the rest counted and dropped with one note; the runner's own
 * messages are kept whatever the hook printed.
 *
 * @module
 */

/** Bytes of a hook's output kept for the log. */
export const OUTPUT_CAP_BYTES = 1024 * 1024;

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
  #notes = "";
  constructor(readonly cap: number = OUTPUT_CAP_BYTES) {}

  /** Adds a chunk of the hook's output; what passes the cap is counted and dropped. */
  push(chunk: Uint8Array): void {
    if (!(chunk instanceof Uint8Array)) return; // a hook posting its own messages
    const keep = Math.min(this.cap - this.#kept, chunk.length);
    if (keep > 0) {
      this.#chunks.push(chunk.slice(0, keep));
      this.#kept += keep;
    }
    this.#dropped += chunk.length - keep;
  }

  /** Adds a message of the runner's own, never dropped. */
  note(text: string): void {
    this.#notes += text;
  }

  /** What is kept, then the truncation note, then the runner's messages. */
  bytes(): Uint8Array {
    const tail = (this.#dropped
      ? `\n[prep/deno: output truncated: ${this.#dropped} more bytes were read and dropped]\n`
      : "") + this.#notes;
    const t = new TextEncoder().encode(tail);
    const out = new Uint8Array(this.#kept + t.length);
    let off = 0;
    for (const c of this.#chunks) out.set(c, off), off += c.length;
    out.set(t, off);
    return out;
  }
}
