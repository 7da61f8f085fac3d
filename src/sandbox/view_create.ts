// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The `create` key of a sandbox set: write grants the runner makes when
 * they are missing, as the shell originals do (`mkdir -p /run/enroot`, a log
 * file), instead of refusing the grant:
 *
 * ```jsonc
 * "write": ["/run/enroot", "/var/log/slurm/gpu.log"],
 * "create": {
 *   "/run/enroot": { "mode": "0755" },
 *   "/var/log/slurm/gpu.log": { "type": "file", "mode": "0640", "owner": "slurm" }
 * }
 * ```
 *
 * Only inside a folder root owns and nobody else can write (so nobody can
 * plant or swap the entry), and only a path a write grant covers.
 *
 * @module
 */

import { basename, dirname, isAbsolute, normalize } from "node:path";
import { covers, GrantError, untrustedReason } from "./trust.ts";

/**
 * One path to make when missing.
 *
 * @example
 * ```ts
 * const s: CreateSpec = { path: "/run/enroot", type: "directory", mode: 0o755, owner: "root" };
 * ```
 */
export interface CreateSpec {
  /** Absolute path. */
  readonly path: string;
  /** What to make. */
  readonly type: "directory" | "file";
  /** Permission bits. */
  readonly mode: number;
  /** Owner: a user name or uid (default root). */
  readonly owner: string;
  /** Group: a group name or gid (default the owner's group). */
  readonly group?: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The keys of one `"create"` entry. */
export const CREATE_KEYS = ["type", "mode", "owner", "group"] as const;

/**
 * Checks a sandbox set's `"create"` value; `at` names the file, set and key.
 *
 * @example
 * ```ts
 * parseCreate({ "/run/enroot": { mode: "0755" } }, 'deno.json: "sandbox" set "prolog", key "create"');
 * // [{ path: "/run/enroot", type: "directory", mode: 0o755, owner: "root" }]
 * ```
 * @throws {Error} naming the key and the fix (the caller wraps it).
 */
export function parseCreate(value: unknown, at: string): CreateSpec[] {
  if (!isRecord(value)) {
    throw new Error(`${at}: must be an object of paths, each { "type", "mode", "owner", "group" }`);
  }
  return Object.entries(value).map(([path, spec]) => {
    const here = `${at} "${path}"`;
    if (!isAbsolute(path) || path.includes("\0") || path !== path.replace(/\/+$/, "")) {
      throw new Error(`${here}: must be an absolute path without a trailing slash`);
    }
    // "/run/x/../../etc/cron.d/job" would make a file far from where it seems to be.
    if (path !== normalize(path)) {
      throw new Error(
        `${here}: must be spelled plainly (no "." or ".." part, no doubled slash): ${
          normalize(path)
        }`,
      );
    }
    if (!isRecord(spec)) throw new Error(`${here}: must be an object`);
    for (const k of Object.keys(spec)) {
      if (!(CREATE_KEYS as readonly string[]).includes(k)) {
        throw new Error(`${here}: unknown key "${k}" (use type, mode, owner, group)`);
      }
    }
    const type = spec.type ?? "directory";
    if (type !== "directory" && type !== "file") {
      throw new Error(`${here}: "type" must be "directory" or "file"`);
    }
    const modeText = spec.mode ?? (type === "directory" ? "0755" : "0644");
    if (typeof modeText !== "string" || !/^0?[0-7]{3}$/.test(modeText)) {
      throw new Error(`${here}: "mode" must be octal text such as "0755"`);
    }
    const mode = parseInt(modeText, 8);
    if (mode & 0o022 && type === "directory") {
      throw new Error(
        `${here}: "mode" ${modeText} lets others write the folder; a grant others can write could be redirected (use 0755 or narrower)`,
      );
    }
    for (const k of ["owner", "group"] as const) {
      if (spec[k] !== undefined && (typeof spec[k] !== "string" || !/^[\w.-]+$/.test(spec[k]))) {
        throw new Error(`${here}: "${k}" must be a user or group name or number`);
      }
    }
    return {
      path,
      type,
      mode,
      owner: (spec.owner as string | undefined) ?? "root",
      ...(spec.group ? { group: spec.group as string } : {}),
    };
  });
}

/** A name service answer (`getent DB KEY`), field `n`; undefined if unknown. */
function getent(db: "passwd" | "group", key: string, n: number): number | undefined {
  if (/^\d+$/.test(key)) return Number(key);
  const out = new Deno.Command("/usr/bin/getent", {
    args: [db, key],
    stdout: "piped",
    stderr: "null",
  })
    .outputSync();
  const field = new TextDecoder().decode(out.stdout).split(":")[n];
  return out.success && field !== undefined ? Number(field) : undefined;
}

/**
 * Makes each missing path of `specs`, checked first: a write grant of
 * `writes` covers it, and its folder is root's and writable by nobody else.
 * A path that exists is left as it is.
 *
 * @example
 * ```ts
 * createMissing(parseCreate({ "/run/enroot": {} }, "create"), ["/run/enroot"]);
 * ```
 * @throws {GrantError} naming the path and the fix.
 */
export function createMissing(specs: readonly CreateSpec[], writes: readonly string[]): void {
  for (const s of specs) {
    if (!writes.some((w) => covers(w, s.path))) {
      throw new GrantError(
        `"create" of ${s.path} refused: no write grant covers it; add it to "write" too`,
      );
    }
    try {
      Deno.lstatSync(s.path);
      continue; // there already: the grant's own checks judge it
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    const parent = dirname(s.path);
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(parent);
    } catch {
      throw new GrantError(
        `"create" of ${s.path} refused: its folder ${parent} does not exist; create that first (or list it under "create" too, before ${
          basename(s.path)
        })`,
      );
    }
    const why = !info.isDirectory
      ? `${parent} is not a folder`
      : info.uid !== 0
      ? `its folder ${parent} is owned by uid ${info.uid}, not root`
      : (info.mode ?? 0) & 0o022
      ? `its folder ${parent} is writable by group or others`
      : untrustedReason(parent, { owners: new Set([0]) });
    if (why) {
      throw new GrantError(
        `"create" of ${s.path} refused: ${why}; the runner creates a grant only in a folder root owns and nobody else can write`,
      );
    }
    const uid = getent("passwd", s.owner, 2);
    const gid = s.group ? getent("group", s.group, 2) : getent("passwd", s.owner, 3);
    if (uid === undefined || gid === undefined) {
      throw new GrantError(
        `"create" of ${s.path} refused: unknown ${uid === undefined ? "owner" : "group"} "${
          uid === undefined ? s.owner : s.group
        }"`,
      );
    }
    // Made private, then given away: never a moment with the wrong owner and mode.
    if (s.type === "directory") Deno.mkdirSync(s.path, { mode: 0o700 });
    else Deno.openSync(s.path, { createNew: true, write: true, mode: 0o600 }).close();
    Deno.chownSync(s.path, uid, gid);
    Deno.chmodSync(s.path, s.mode);
  }
}
