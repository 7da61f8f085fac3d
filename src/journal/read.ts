// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Reads the journal the plugin writes (ffi/prep_deno_journal.c): RFC 7464
 * records, `RS crc32hex SP json LF`, in PATH.1 (older) then PATH. A record
 * whose checksum does not match (a write torn by a full disk or a killed
 * daemon) is counted and skipped; the next RS starts the next record.
 *
 * @example
 * ```ts
 * import { parseJournal } from "./read.ts";
 * const { runs, torn } = parseJournal(new TextEncoder().encode("\x1e00000000 {}\n"));
 * console.log(runs.length, torn); // 0 1
 * ```
 *
 * @module
 */

/** Where the plugin writes the journal unless PrEpParameters journal=PATH. */
export const DEFAULT_JOURNAL = "/var/lib/prep-deno/journal";

/** One hook run, as the plugin recorded it. */
export interface RunRecord {
  /** When the hook started, ms since the epoch. */
  t: number;
  type: "run";
  daemon: string;
  node: string;
  job: number;
  user: string | null;
  uid: string | null;
  /** prolog, epilog, prolog_slurmctld or epilog_slurmctld. */
  hook: string;
  /** The hook's path as slurm.conf names it. */
  module: string;
  mode: "script" | "spawn" | "warm";
  duration_ms: number;
  /** The raw wait status. */
  status: number;
  exit?: number;
  signal?: number;
  timed_out: boolean;
  /** ok, timeout, memory, sandbox, not_found, failed, exit, signal, not_run. */
  kind: string;
  cause: string | null;
  fallback: string | null;
  output: string;
  /** Output bytes not kept (past journal_output_kb, or the plugin's cap). */
  output_dropped: number;
  /** The node reason this run set, joined from its reason record. */
  reason?: string;
}

/** The node reason a failing run set. */
export interface ReasonRecord {
  t: number;
  type: "reason";
  daemon: string;
  job: number;
  hook: string;
  module: string | null;
  reason: string;
}

/** What a journal holds. */
export interface Journal {
  runs: RunRecord[];
  reasons: ReasonRecord[];
  /** Records skipped for a bad checksum or bad JSON. */
  torn: number;
}

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/**
 * CRC-32 (IEEE), as the plugin computes it over each record's JSON.
 *
 * @example
 * ```ts
 * import { crc32 } from "./read.ts";
 * crc32(new TextEncoder().encode("123456789")); // 0xcbf43926
 * ```
 */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const RS = 0x1e;
const decoder = new TextDecoder();

/**
 * The records of one journal file's bytes, reason records joined to runs.
 *
 * @example
 * ```ts
 * import { parseJournal } from "./read.ts";
 * parseJournal(new Uint8Array()).runs; // []
 * ```
 */
export function parseJournal(bytes: Uint8Array, into?: Journal): Journal {
  const out = into ?? { runs: [], reasons: [], torn: 0 };
  let i = bytes.indexOf(RS);
  if (i > 0) out.torn++; // bytes before the first record
  while (i >= 0) {
    const next = bytes.indexOf(RS, i + 1);
    const end = next < 0 ? bytes.length : next;
    const rec = bytes.subarray(i + 1, end);
    i = next;
    // "xxxxxxxx " + json + "\n"
    if (rec.length < 11 || rec[8] !== 0x20 || rec[rec.length - 1] !== 0x0a) {
      out.torn++;
      continue;
    }
    const json = rec.subarray(9, rec.length - 1);
    if (parseInt(decoder.decode(rec.subarray(0, 8)), 16) !== crc32(json)) {
      out.torn++;
      continue;
    }
    try {
      const r = JSON.parse(decoder.decode(json));
      if (r.type === "run") out.runs.push(r);
      else if (r.type === "reason") out.reasons.push(r);
    } catch {
      out.torn++;
    }
  }
  return out;
}

/**
 * The journal at `path` (PATH.1, then PATH), reasons joined to the runs
 * that set them (the last failing run of that job, hook and module).
 *
 * @example
 * ```ts
 * import { readJournal } from "./read.ts";
 * const j = await readJournal("/nonexistent/journal");
 * console.log(j.runs.length); // 0
 * ```
 */
export async function readJournal(path: string = DEFAULT_JOURNAL): Promise<Journal> {
  const out: Journal = { runs: [], reasons: [], torn: 0 };
  for (const file of [`${path}.1`, path]) {
    try {
      parseJournal(await Deno.readFile(file), out);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  for (const r of out.reasons) {
    const run = out.runs.findLast((x) =>
      x.job === r.job && x.hook === r.hook && x.kind !== "ok" &&
      (r.module === null || x.module === r.module)
    );
    if (run) run.reason = r.reason;
  }
  return out;
}
