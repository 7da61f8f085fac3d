// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Memory across the boundary: C strings, string arrays and the core's
 * structs written and read at the offsets the library reported.
 *
 * @example
 * ```ts
 * import { Arena } from "./memory.ts";
 * const a = new Arena();
 * const path = a.str("/etc/slurm/prolog.ts"); // NUL-terminated, kept alive by `a`
 * ```
 *
 * @module
 */

import type { Layouts } from "./layout.ts";
import { outcomeText, parseOutcome } from "../src/outcome/outcome_record.ts";
import type { CoreConfig, Outcome } from "./types.ts";

const encoder = new TextEncoder();
/** Slurm's INFINITE (`uint32_t` all ones). */
export const INFINITE = 0xffffffff;

/** Keeps the buffers behind C strings and arrays alive while C uses them. */
export class Arena {
  #keep: ArrayBufferView[] = [];
  str(s: string | undefined): Uint8Array<ArrayBuffer> | null {
    if (s === undefined) return null;
    const b = encoder.encode(s + "\0") as Uint8Array<ArrayBuffer>;
    this.#keep.push(b);
    return b;
  }
  ptr(s: string | undefined): bigint {
    const b = this.str(s);
    return b ? BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(b))) : 0n;
  }
  /** A NULL-terminated char* array. */
  strv(list: string[] | undefined): BigUint64Array<ArrayBuffer> | null {
    if (!list) return null;
    const v = new BigUint64Array(list.length + 1);
    list.forEach((s, i) => v[i] = this.ptr(s));
    this.#keep.push(v);
    return v;
  }
  strvPtr(list: string[] | undefined): bigint {
    const v = this.strv(list);
    return v ? BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(v))) : 0n;
  }
  config(c: CoreConfig, layout: Layouts["pdc_config_t"]): Uint8Array<ArrayBuffer> {
    const b = new ArrayBuffer(layout.size);
    const dv = new DataView(b);
    dv.setBigUint64(layout.runner, this.ptr(c.runner), true);
    dv.setInt32(layout.timeout_s, c.timeoutSeconds ?? -1, true);
    dv.setInt32(layout.heap_mb, c.heapMb ?? 0, true);
    dv.setInt32(layout.memory_mb, c.memoryMb ?? 0, true);
    dv.setInt32(layout.tasks_max, c.tasksMax ?? 0, true);
    dv.setBigUint64(layout.warm_socket, this.ptr(c.warmSocket), true);
    dv.setInt32(layout.concurrent, c.concurrent ? 1 : 0, true);
    dv.setUint32(layout.kill_tag, c.killTag ?? 0, true);
    dv.setBigUint64(layout.slurm_conf, this.ptr(c.slurmConf), true);
    const u = new Uint8Array(b);
    this.#keep.push(u);
    return u;
  }
}

/** Reads a NULL-terminated char* array. */
export function readStrv(p: Deno.PointerValue): string[] {
  if (!p) return [];
  const view = new Deno.UnsafePointerView(p);
  const out: string[] = [];
  for (let i = 0;; i++) {
    const s = view.getPointer(i * 8);
    if (!s) return out;
    out.push(Deno.UnsafePointerView.getCString(s));
  }
}

/** Decodes a `pdc_outcome_t`. */
export function readOutcome(p: Deno.PointerObject, at: Layouts["pdc_outcome_t"]): Outcome {
  const v = new Deno.UnsafePointerView(p);
  const status = v.getInt32(at.status);
  const out = v.getPointer(at.output);
  const failed = v.getPointer(at.failed_path);
  const fallback = v.getPointer(at.fallback);
  const recordPtr = v.getPointer(at.record);
  const record = recordPtr
    ? parseOutcome(Deno.UnsafePointerView.getCString(recordPtr) + "\n")
    : undefined;
  const output = out ? Deno.UnsafePointerView.getCString(out) : "";
  const said = record ? outcomeText(record) : "";
  const low = status & 0x7f;
  return {
    status,
    exitCode: low === 0 ? (status >> 8) & 0xff : undefined,
    signal: low !== 0 && low !== 0x7f ? low : undefined,
    timedOut: v.getInt32(at.timed_out) !== 0,
    output,
    log: said ? `${output}${output === "" || output.endsWith("\n") ? "" : "\n"}${said}\n` : output,
    failedPath: failed ? Deno.UnsafePointerView.getCString(failed) : undefined,
    fallback: fallback ? Deno.UnsafePointerView.getCString(fallback) : undefined,
    record,
  };
}

/** `{K: V}` as `K=V` entries. */
export function envList(env: Record<string, string>): string[] {
  return Object.entries(env).map(([k, v]) => `${k}=${v}`);
}
