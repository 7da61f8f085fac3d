// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The one record of how a hook ended, {@linkcode HookOutcome}: made once
 * where the hook runs (src/outcome/hook_call.ts, for the spawn entry, the warm
 * Worker and `prep-deno/testing` alike), carried unchanged through the
 * status channel, the warm reply and the launcher (which adds only its own
 * kinds: timeout, memory, signal, refused, lost), and read by the plugin,
 * the journal and the metrics. In a record, `message` and `cause` are plain
 * text; only the wire form escapes them. Its message and cause are printed by one
 * printer, {@linkcode outcomeText}, with the one prefix
 * {@linkcode placePrefix}.
 *
 * The record never travels inside the hook's output: the launcher hands it
 * to the plugin on a descriptor only the launcher holds (`--outcome-fd`),
 * the warm service in a field of its reply of its own, so nothing a hook
 * prints can speak for the runner.
 *
 * Wire form (`OUTCOME_MAGIC` in src/contract.ts, the C side's
 * `PD_OUTCOME_MAGIC`): one line of tab-separated fields,
 *
 *     prep-deno-outcome/1 TAB kind TAB status TAB hook TAB module TAB job TAB cause TAB message LF
 *
 * where every text field is escaped by {@linkcode escapeField} (so it holds
 * no byte below 0x20, no DEL, no tab, no newline), the whole line is at most
 * `OUTCOME_MAX` bytes and the cause at most `REASON_MAX` bytes.
 *
 * @example
 * ```ts
 * import { formatOutcome, parseOutcome } from "./outcome_record.ts";
 * const line = formatOutcome({
 *   kind: "threw", status: 1, cause: "gpu 1 lost",
 *   message: "threw Error: gpu 1 lost",
 *   place: { hook: "prolog", module: "/etc/slurm/prolog.ts", job: "42" },
 * });
 * parseOutcome(line)?.cause; // "gpu 1 lost"
 * ```
 *
 * @module
 */

/**
 * Kinds the hook call itself records (where the hook runs):
 * - `returned`: the hook returned (or ended by `Deno.exit`) with `status`;
 * - `bad-value`: it returned, or set, something that is not an exit status;
 * - `threw`: it threw, or left a rejected promise or an uncaught error;
 * - `no-export`: the module has neither the hook's export nor a default one;
 * - `load-failed`: the module could not be imported;
 * - `stalled`: its promise never settled and nothing was left to settle it.
 */
export const HOOK_KINDS: typeof CONTRACT_HOOK_KINDS = CONTRACT_HOOK_KINDS; // src/contract.ts, the C side's too

/**
 * Kinds only the runner around the hook adds (the launcher, the warm
 * service), never the hook call:
 * - `timeout`: ran past its timeout, every process of it killed;
 * - `memory`: passed its heap or whole-hook memory limit;
 * - `tasks`: reached its process limit (`tasks_max`), every process of it killed;
 * - `signal`: killed by a signal, the runner's (stopped) or another's;
 * - `refused`: the sandbox or Deno could not start it (policy, bwrap, plan);
 * - `lost`: its process ended without a result the runner could read.
 */
export const RUNNER_KINDS = ["timeout", "memory", "tasks", "signal", "refused", "lost"] as const;

/** One kind of ending. */
export type OutcomeKind = typeof HOOK_KINDS[number] | typeof RUNNER_KINDS[number];

/** Which hook of which job: the fields of the one message prefix. */
export interface OutcomePlace {
  /** The hook: `prolog`, `epilog`, `prologSlurmctld`, `epilogSlurmctld`. */
  hook: string;
  /** The module's absolute path. */
  module: string;
  /** The job id, `?` when not known. */
  job: string;
}

/**
 * How one hook call ended: the one record from the hook to the node's
 * reason.
 *
 * @example
 * ```ts
 * import type { HookOutcome } from "./outcome_record.ts";
 * const ok: HookOutcome = {
 *   kind: "returned", status: 0,
 *   place: { hook: "epilog", module: "/etc/slurm/epilog.ts", job: "7" },
 * };
 * ```
 */
export interface HookOutcome {
  /** How it ended ({@linkcode HOOK_KINDS} or {@linkcode RUNNER_KINDS}). */
  kind: OutcomeKind;
  /** The exit status the runner ends with, 0-255 (src/contract.ts `EXIT`). */
  status: number;
  /** The whole sentence for the log, without the prefix; absent on success. */
  message?: string;
  /** The shortest answer to "why" (one line, at most `REASON_MAX` bytes): the drain reason. */
  cause?: string;
  /** Which hook of which job. */
  place: OutcomePlace;
}

import {
  HOOK_KINDS as CONTRACT_HOOK_KINDS,
  MESSAGE_PREFIX,
  OUTCOME_MAGIC,
  OUTCOME_MAX,
  REASON_MAX as CAUSE_MAX,
} from "../contract.ts";
export { OUTCOME_MAGIC, OUTCOME_MAX };

const KINDS: readonly string[] = [...HOOK_KINDS, ...RUNNER_KINDS];

/**
 * The one message prefix, `prep-deno: <hook> <file> job <id>:`.
 *
 * @example
 * ```ts
 * placePrefix({ hook: "prolog", module: "/etc/slurm/p.ts", job: "3" });
 * // "prep-deno: prolog /etc/slurm/p.ts job 3:"
 * ```
 */
export function placePrefix(p: OutcomePlace): string {
  const fields = [p.hook, p.module, p.job];
  return MESSAGE_PREFIX.replace(/%s/g, () => fields.shift()!);
}

/**
 * The runner's line for a failed outcome, prefix then message (escaped,
 * one line); `""` when there is nothing to say.
 *
 * @example
 * ```ts
 * outcomeText({ kind: "timeout", status: 124, message: "timed out after 5 s",
 *   place: { hook: "prolog", module: "/p.ts", job: "1" } });
 * // "prep-deno: prolog /p.ts job 1: timed out after 5 s"
 * ```
 */
export function outcomeText(o: HookOutcome): string {
  if (o.message === undefined || o.message === "") return "";
  return `${placePrefix(o.place)} ${escapeField(o.message)}`;
}

/**
 * Escapes one text field: `\` as `\\`, tab, newline and carriage return as
 * `\t` `\n` `\r`, every other byte below 0x20 and DEL as `\xNN`. The result
 * is one printable line, whatever the input.
 *
 * @example
 * ```ts
 * escapeField("a\u0000b\tc"); // "a\\x00b\\tc"
 * ```
 */
export function escapeField(s: string): string {
  // deno-lint-ignore no-control-regex
  return s.replace(/[\\\u0000-\u001f\u007f]/g, (c) => {
    switch (c) {
      case "\\":
        return "\\\\";
      case "\t":
        return "\\t";
      case "\n":
        return "\\n";
      case "\r":
        return "\\r";
      default:
        return `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
    }
  });
}

/** Cuts an escaped field to `max` UTF-8 bytes, never inside a character or an escape. */
function cut(field: string, max: number): string {
  const enc = new TextEncoder();
  if (enc.encode(field).length <= max) return field;
  let out = "";
  let bytes = 0;
  for (const token of field.match(/\\x[0-9a-f]{2}|\\.|[^]/gu) ?? []) {
    const n = enc.encode(token).length;
    if (bytes + n > max) break;
    out += token;
    bytes += n;
  }
  return out;
}

/**
 * The one-line cause of `text`: its first non-empty line, trimmed, at most
 * `REASON_MAX` characters (the wire form then escapes it and bounds its
 * bytes).
 *
 * @example
 * ```ts
 * causeOf("gpu 1 lost\n  at check (site.ts:3)"); // "gpu 1 lost"
 * ```
 */
export function causeOf(text: string): string {
  const first = text.split(/\r?\n/).find((l) => l.trim() !== "")?.trim() ?? "failed";
  return [...first].slice(0, CAUSE_MAX).join("");
}

/**
 * The wire line of `o` (newline included), at most `OUTCOME_MAX` bytes: the
 * message is cut to fit.
 *
 * @example
 * ```ts
 * formatOutcome({ kind: "returned", status: 0, place: { hook: "prolog", module: "/p.ts", job: "1" } });
 * // "prep-deno-outcome/1\treturned\t0\tprolog\t/p.ts\t1\t\t\n"
 * ```
 */
export function formatOutcome(o: HookOutcome): string {
  const head = [
    OUTCOME_MAGIC,
    o.kind,
    String(o.status),
    cut(escapeField(o.place.hook), 64),
    cut(escapeField(o.place.module), 1024),
    cut(escapeField(o.place.job), 64),
    o.cause === undefined ? "" : cut(escapeField(causeOf(o.cause)), CAUSE_MAX),
  ].join("\t") + "\t";
  const room = OUTCOME_MAX - new TextEncoder().encode(head).length - 1;
  return head + cut(escapeField(o.message ?? ""), room) + "\n";
}

/**
 * Reads one wire line back, fields unescaped ({@linkcode unescapeField});
 * `undefined` for anything that is not one well-formed record.
 *
 * @example
 * ```ts
 * parseOutcome("not a record"); // undefined
 * ```
 */
export function parseOutcome(line: string): HookOutcome | undefined {
  const text = line.endsWith("\n") ? line.slice(0, -1) : line;
  if (
    new TextEncoder().encode(text).length >= OUTCOME_MAX ||
    // deno-lint-ignore no-control-regex
    /[\u0000-\u0008\n-\u001f\u007f]/.test(text)
  ) {
    return undefined;
  }
  const f = text.split("\t");
  if (f.length !== 8 || f[0] !== OUTCOME_MAGIC || !KINDS.includes(f[1])) return undefined;
  if (!/^(0|[1-9][0-9]{0,2})$/.test(f[2]) || Number(f[2]) > 255) return undefined;
  const o: HookOutcome = {
    kind: f[1] as OutcomeKind,
    status: Number(f[2]),
    place: { hook: unescapeField(f[3]), module: unescapeField(f[4]), job: unescapeField(f[5]) },
  };
  if (f[6] !== "") o.cause = unescapeField(f[6]);
  if (f[7] !== "") o.message = unescapeField(f[7]);
  return o;
}

/**
 * Undoes {@linkcode escapeField}.
 *
 * @example
 * ```ts
 * unescapeField(escapeField("a\u0000b")); // "a\u0000b"
 * ```
 */
export function unescapeField(s: string): string {
  return s.replace(/\\(x[0-9a-f]{2}|.)/g, (_, e: string) => {
    if (e[0] === "x" && e.length === 3) return String.fromCharCode(parseInt(e.slice(1), 16));
    return e === "t" ? "\t" : e === "n" ? "\n" : e === "r" ? "\r" : e;
  });
}
