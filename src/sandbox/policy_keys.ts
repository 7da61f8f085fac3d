// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * One small parser per top-level key of a hook's deno.json. Each gets the
 * key's value (undefined when absent) and the file, returns what the runner
 * uses, and throws a {@linkcode PolicyError} naming the file, the key (dotted
 * to the level that is wrong) and the fix. `policy_file.ts` holds the table
 * of keys; a new key is a parser here (or in its own module) and one line
 * there.
 *
 * @module
 */

import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { PERMISSION_KINDS, type PermissionKind, type Permissions } from "./permissions.ts";
import { checkViewSets, SET_NAMES, ViewError, type ViewSet } from "./view.ts";
import { unknownNameFix } from "./did_you_mean.ts";

/** What a key parser knows besides the value: the policy file and its folder. */
export interface KeyContext {
  /** The policy file. */
  readonly file: string;
  /** Its folder: relative paths in the policy are relative to it. */
  readonly dir: string;
}

/**
 * A policy file (or one key in it) that cannot be used. `file`, `key` (dotted
 * path, e.g. `warm.mode`) and `fix` are set when the problem is in one key;
 * the message says all three.
 */
export class PolicyError extends Error {
  override name = "PolicyError";
  /** The policy file, when known. */
  readonly file?: string;
  /** The key at fault, dotted (`permissions.prolog.read`), when one is. */
  readonly key?: string;
  /** What to change. */
  readonly fix?: string;
  /**
   * @example
   * ```ts
   * new PolicyError("/etc/slurm/deno.json: policy refused: not a file");
   * ```
   */
  constructor(message: string, where?: { file?: string; key?: string; fix?: string }) {
    super(message);
    this.file = where?.file;
    this.key = where?.key;
    this.fix = where?.fix;
  }
}

/**
 * The error for `key` of `file`: "FILE: "KEY" PROBLEM; FIX".
 *
 * @example
 * ```ts
 * import { keyError } from "./policy_keys.ts";
 * const e = keyError(
 *   { file: "/etc/slurm/deno.json", dir: "/etc/slurm" },
 *   "warm.hosts",
 *   "must be an integer",
 *   "write 4",
 * );
 * e.message; // '/etc/slurm/deno.json: "warm.hosts" must be an integer; write 4'
 * ```
 */
export function keyError(ctx: KeyContext, key: string, problem: string, fix?: string): PolicyError {
  return new PolicyError(`${ctx.file}: "${key}" ${problem}${fix ? `; ${fix}` : ""}`, {
    file: ctx.file,
    key,
    fix,
  });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The path kinds whose relative entries are the policy folder's. */
const PATH_KINDS: ReadonlySet<PermissionKind> = new Set(["read", "write", "ffi"]);

/**
 * `"permissions"`: named sets of Deno permissions, every set checked.
 *
 * @example
 * ```ts
 * parsePermissions({ default: { env: ["X"] } }, { file: "/h/deno.json", dir: "/h" });
 * // { default: { env: ["X"] } }
 * ```
 */
export function parsePermissions(value: unknown, ctx: KeyContext): Record<string, Permissions> {
  if (value === undefined) return {};
  if (!isRecord(value)) {
    throw keyError(
      ctx,
      "permissions",
      "must be an object of named permission sets",
      'e.g. { "default": { "read": ["/etc/slurm"] } }',
    );
  }
  const out: Record<string, Permissions> = {};
  for (const [name, set] of Object.entries(value)) {
    if (!(SET_NAMES as readonly string[]).includes(name)) {
      throw keyError(
        ctx,
        `permissions.${name}`,
        "is not a hook's set",
        unknownNameFix(name, SET_NAMES),
      );
    }
    out[name] = permissionSet(set, ctx, `permissions.${name}`);
  }
  return out;
}

function permissionSet(set: unknown, ctx: KeyContext, at: string): Permissions {
  if (!isRecord(set)) {
    throw keyError(ctx, at, "must be an object", 'e.g. { "read": ["/etc/slurm"] }');
  }
  const out: Permissions = {};
  for (const [key, value] of Object.entries(set)) {
    if (!(PERMISSION_KINDS as readonly string[]).includes(key)) {
      throw keyError(
        ctx,
        `${at}.${key}`,
        "is unknown",
        unknownNameFix(key, PERMISSION_KINDS),
      );
    }
    const kind = key as PermissionKind;
    if (value === false) continue;
    if (value === true) {
      out[kind] = true;
    } else if (kind === "all") {
      throw keyError(ctx, `${at}.all`, "must be true or false");
    } else if (Array.isArray(value) && value.every((v) => typeof v === "string")) {
      const bad = value.find((v) => v.includes("\0"));
      if (bad !== undefined) {
        throw keyError(ctx, `${at}.${key}`, `has an entry with a NUL byte: ${JSON.stringify(bad)}`);
      }
      out[kind] = PATH_KINDS.has(kind)
        ? value.map((p) => (isAbsolute(p) ? p : resolve(ctx.dir, p)))
        : [...value];
    } else {
      throw keyError(ctx, `${at}.${key}`, "must be true, false or a list of strings");
    }
  }
  return out;
}

/**
 * `"sandbox"`: named kernel views (see `view.ts`), every set checked.
 *
 * @example
 * ```ts
 * parseSandbox({ prolog: { slurm: true } }, { file: "/h/deno.json", dir: "/h" });
 * // { prolog: { slurm: true } }
 * ```
 */
export function parseSandbox(value: unknown, ctx: KeyContext): Record<string, ViewSet> {
  if (value === undefined) return {};
  try {
    return checkViewSets(value, ctx.file);
  } catch (e) {
    if (e instanceof ViewError) {
      throw new PolicyError(e.message, { file: ctx.file, key: e.key ?? "sandbox" });
    }
    throw e;
  }
}

/** `fresh`: one isolate per job; `reuse`: one isolate per warm host, called per job. */
export type WarmMode = "fresh" | "reuse";

/** The warm settings of one policy. */
export interface WarmConfig {
  /** How jobs share isolates. */
  mode: WarmMode;
  /** Most warm host processes of one (module, hook); each runs one job at a time. */
  hosts: number;
}

/** What a policy without a `"warm"` object gets. */
export const DEFAULT_WARM: Readonly<WarmConfig> = { mode: "fresh", hosts: 4 };
/** The most warm hosts one (module, hook) may have. */
const MAX_HOSTS = 64;
/** The keys of `"warm"`. */
export const WARM_KEYS = ["mode", "hosts"] as const;

/**
 * `"warm"`: how the warm service runs this policy's hooks.
 *
 * @example
 * ```ts
 * parseWarm({ mode: "reuse" }, { file: "/h/deno.json", dir: "/h" }); // { mode: "reuse", hosts: 4 }
 * ```
 */
export function parseWarm(value: unknown, ctx: KeyContext): WarmConfig {
  if (value === undefined) return { ...DEFAULT_WARM };
  if (!isRecord(value)) {
    throw keyError(ctx, "warm", "must be an object", 'e.g. { "mode": "reuse" }');
  }
  for (const key of Object.keys(value)) {
    if (!(WARM_KEYS as readonly string[]).includes(key)) {
      throw keyError(
        ctx,
        `warm.${key}`,
        "is unknown",
        unknownNameFix(key, WARM_KEYS),
      );
    }
  }
  const out = { ...DEFAULT_WARM };
  if (value.mode !== undefined) {
    if (value.mode !== "fresh" && value.mode !== "reuse") {
      throw keyError(
        ctx,
        "warm.mode",
        `must be "fresh" (a new isolate per job) or "reuse" (the module imported once per warm host), not ${
          JSON.stringify(value.mode)
        }`,
      );
    }
    out.mode = value.mode;
  }
  if (value.hosts !== undefined) {
    const n = value.hosts;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > MAX_HOSTS) {
      throw keyError(
        ctx,
        "warm.hosts",
        `must be an integer from 1 to ${MAX_HOSTS}, not ${JSON.stringify(n)}`,
      );
    }
    out.hosts = n;
  }
  return out;
}

/**
 * Whether `key` is a bare name (`"lodash"`, `"@site/util/"`): only those
 * are taken from a policy (`"prep-deno"` too, for editors; the runner's own
 * then wins, see `import_map.ts`). A URL-like key (`"node:path"`, `"file:///..."`,
 * `"./x.ts"`) would also remap the runner's own modules where they share a
 * process with the hook (the warm service's hosts).
 */
function isBareName(key: string): boolean {
  return key !== "" && !key.includes(":") && !/^[./\\]/.test(key);
}

/**
 * `"imports"`: bare names to module URLs, relative targets made absolute
 * (as `file:` URLs from the policy's folder).
 *
 * @example
 * ```ts
 * parseImports({ util: "./util.ts" }, { file: "/h/deno.json", dir: "/h" });
 * // { util: "file:///h/util.ts" }
 * ```
 */
export function parseImports(value: unknown, ctx: KeyContext): Record<string, string> {
  if (value === undefined) return {};
  if (!isRecord(value)) {
    throw keyError(
      ctx,
      "imports",
      "must be an object of names to modules",
      'e.g. { "util": "./util.ts" }',
    );
  }
  const base = pathToFileURL(ctx.file);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== "string") {
      throw keyError(ctx, `imports.${k}`, `must be a module URL or path, not ${JSON.stringify(v)}`);
    }
    if (!isBareName(k)) {
      throw keyError(
        ctx,
        `imports.${k}`,
        "is not a bare name and is not applied",
        'map bare names only ("util", "@site/"); a URL or path key would remap the runner\'s own modules',
      );
    }
    out[k] = /^\.{0,2}\//.test(v) ? new URL(v, base).href : v;
  }
  return out;
}

/** `"error"` (default): a module that does not type-check does not run; `"warn"`: it runs, the errors logged. */
export type TypecheckMode = "error" | "warn";

/**
 * `"typecheck"`: what a type error in the hook does.
 *
 * @example
 * ```ts
 * parseTypecheck("warn", { file: "/h/deno.json", dir: "/h" }); // "warn"
 * ```
 */
export function parseTypecheck(value: unknown, ctx: KeyContext): TypecheckMode {
  if (value === undefined) return "error";
  if (value !== "error" && value !== "warn") {
    throw keyError(
      ctx,
      "typecheck",
      `must be "error" (a hook that does not type-check does not run) or "warn" (it runs, the errors logged), not ${
        JSON.stringify(value)
      }`,
    );
  }
  return value;
}
