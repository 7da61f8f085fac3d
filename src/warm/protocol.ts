// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The warm service's wire format, simple enough for the plugin's C client:
 * a frame is a 4-byte little-endian length and that many bytes.
 *
 * Request: NUL-separated fields {@linkcode WARM_FIELDS} (`prep-deno-warm/4`,
 * module path, context, timeout seconds or empty, the daemon's slurm.conf or
 * empty), then one `KEY=VALUE` per variable, raw bytes.
 * Then an empty frame once the hook started (the plugin never runs it again
 * from then on), and the reply: the exit status in decimal, a NUL, then the
 * hook's output.
 *
 * @module
 */

import { formatOutcome, type HookOutcome, parseOutcome } from "../outcome/outcome_record.ts";
import { parseEnvEntries } from "../bytes.ts";
import { WARM_FIELDS, WARM_MAGIC, WARM_MAX_FRAME } from "../contract.ts";

/** The first field of every request (ffi/prep_deno_contract.h's PD_WARM_MAGIC). */
export const MAGIC = WARM_MAGIC;
/** Largest frame accepted (PD_WARM_MAX_FRAME): environments are small, outputs are capped. */
export const MAX_FRAME = WARM_MAX_FRAME;

/** One hook to run, as the plugin sends it. */
export interface WarmRequest {
  /** Absolute path of the module. */
  modulePath: string;
  /** SLURM_SCRIPT_CONTEXT of the job. */
  context: string;
  /** Seconds, or undefined for none. */
  timeoutSeconds?: number;
  /**
   * The daemon's own slurm.conf (absolute), as the spawn path's
   * `run --slurm-conf`; undefined when the plugin knows none.
   */
  slurmConf?: string;
  /** The job's environment, decoded (bad UTF-8 becomes U+FFFD, as in the spawn path). */
  env: Record<string, string>;
}

/** What came of it. */
export interface WarmReply {
  /** Exit status, as the runner would exit. */
  status: number;
  /** The outcome record, in the reply's own field: never inside the output. */
  record: HookOutcome;
  /** stdout and stderr of the hook, interleaved. */
  output: Uint8Array;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A frame: the payload's length, little-endian, then the payload. */
export function encodeFrame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length, true);
  out.set(payload, 4);
  return out;
}

/** Decodes a request payload (without its length). */
export function decodeRequest(payload: Uint8Array): WarmRequest {
  // The header fields, then the environment exactly as /proc/PID/environ has it.
  const header: string[] = [];
  let start = 0;
  while (header.length < WARM_FIELDS.length) {
    const nul = payload.indexOf(0, start);
    if (nul < 0) throw new Error(`not a ${MAGIC} request`);
    header.push(dec.decode(payload.subarray(start, nul)));
    start = nul + 1;
  }
  const field = (name: typeof WARM_FIELDS[number]) => header[WARM_FIELDS.indexOf(name)];
  if (field("magic") !== MAGIC) throw new Error(`not a ${MAGIC} request`);
  const timeout = field("timeout");
  const slurmConf = field("slurmConf");
  return {
    modulePath: field("module"),
    context: field("context"),
    timeoutSeconds: timeout === "" ? undefined : Number(timeout),
    // Only an absolute path, as the plugin sends for `run --slurm-conf`.
    slurmConf: slurmConf.startsWith("/") ? slurmConf : undefined,
    env: parseEnvEntries(payload.subarray(start)),
  };
}

/** A reply's payload: the status in decimal, a NUL, the record's line, a NUL, the output. */
export function replyPayload(r: WarmReply): Uint8Array {
  const head = enc.encode(`${r.status}\0${formatOutcome(r.record).slice(0, -1)}\0`);
  const payload = new Uint8Array(head.length + r.output.length);
  payload.set(head);
  payload.set(r.output, head.length);
  return payload;
}

/**
 * Reads a reply payload back; `undefined` unless it is a status, a NUL,
 * one well-formed record line, a NUL, and output.
 */
export function decodeReply(payload: Uint8Array): WarmReply | undefined {
  const a = payload.indexOf(0);
  const b = a < 0 ? -1 : payload.indexOf(0, a + 1);
  if (b < 0) return undefined;
  const status = Number(dec.decode(payload.subarray(0, a)));
  const record = parseOutcome(dec.decode(payload.subarray(a + 1, b)));
  if (!record || !Number.isInteger(status)) return undefined;
  return { status, record, output: payload.subarray(b + 1) };
}

/** Encodes a reply frame. */
export function encodeReply(r: WarmReply): Uint8Array {
  return encodeFrame(replyPayload(r));
}

/** Something to read bytes from (a Deno.Conn). */
export interface ByteReader {
  read(p: Uint8Array): Promise<number | null>;
}
/** Reads one frame's payload from `conn`; undefined at a clean end of stream. */
export async function readFrame(conn: ByteReader): Promise<Uint8Array | undefined> {
  const head = await readExactly(conn, 4);
  if (!head) return undefined;
  const len = new DataView(head.buffer).getUint32(0, true);
  if (len > MAX_FRAME) throw new Error(`frame of ${len} bytes is too large`);
  const body = await readExactly(conn, len);
  if (!body) throw new Error("connection closed in the middle of a frame");
  return body;
}

async function readExactly(conn: ByteReader, n: number): Promise<Uint8Array | undefined> {
  const buf = new Uint8Array(n);
  let off = 0;
  while (off < n) {
    const got = await conn.read(buf.subarray(off));
    if (got === null) {
      if (off === 0) return undefined;
      throw new Error("connection closed in the middle of a frame");
    }
    off += got;
  }
  return buf;
}
