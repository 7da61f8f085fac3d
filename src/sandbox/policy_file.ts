// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The one reader of a hook's deno.json: JSONC (comments, trailing commas),
 * a UTF-8 byte order mark read past, every key at every level checked, and
 * one error vocabulary ({@linkcode PolicyError}: file, key, fix). The
 * permission policy (`policy.ts`), the warm service's settings
 * (`warm/config.ts`) and the hook's import map (`import_map.ts`) all read
 * what this returns.
 *
 * A key this runner does not know is an error naming the key it is closest
 * to: `"permisions"` would otherwise vanish, and with it every grant.
 * Deno's own tooling keys (`tasks`, `fmt`, ...) are let through, since a
 * hook folder may also be a Deno project; the ones that would change how
 * the hook runs (`compilerOptions`, `scopes`, `importMap`) are refused,
 * because hooks run with `--no-config`.
 *
 * @module
 */

import { dirname } from "node:path";
import { BUNDLE_MARKER, readEmbeddedPolicy } from "./bundle.ts";
import { closest } from "./did_you_mean.ts";
import {
  type KeyContext,
  keyError,
  parseImports,
  parsePermissions,
  parseSandbox,
  parseTypecheck,
  parseWarm,
  PolicyError,
} from "./policy_keys.ts";

export { keyError, PolicyError } from "./policy_keys.ts";
export type { KeyContext, TypecheckMode, WarmConfig, WarmMode } from "./policy_keys.ts";

/**
 * The keys this runner reads, each with its parser. A new key is one line
 * here and a parser (see `policy_keys.ts`); {@linkcode PolicyFile} gains
 * the field by itself.
 */
export const POLICY_KEYS = {
  permissions: parsePermissions,
  sandbox: parseSandbox,
  warm: parseWarm,
  imports: parseImports,
  typecheck: parseTypecheck,
} as const;

/** Deno's own keys that do not change how a hook runs: allowed, not read. */
const DENO_TOOLING_KEYS = [
  "$schema",
  "name",
  "version",
  "exports",
  "tasks",
  "fmt",
  "lint",
  "test",
  "bench",
  "lock",
  "exclude",
  "nodeModulesDir",
  "vendor",
  "publish",
  "workspace",
  "license",
];

/** Deno's keys a hook would not get (hooks run with `--no-config`): refused so nobody relies on them. */
const DENO_UNAPPLIED_KEYS: Record<string, string> = {
  compilerOptions:
    'hooks are checked and run with Deno\'s defaults (strict); remove "compilerOptions"',
  scopes: 'only "imports" applies to hooks; move the mappings to "imports"',
  importMap: 'only "imports" applies to hooks; move the mappings to "imports"',
  unstable: "hooks run without unstable features; remove it",
};

/** A hook's deno.json, read and checked. */
export type PolicyFile =
  & {
    /** The file read. */
    readonly path: string;
  }
  & { readonly [K in keyof typeof POLICY_KEYS]: ReturnType<typeof POLICY_KEYS[K]> };

/** Index of the quote that closes the string literal opening at `start`. */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  for (; i < text.length && text[i] !== '"'; i++) if (text[i] === "\\") i++;
  return i;
}

/**
 * Removes comments and trailing commas from JSONC, leaving strings intact.
 *
 * @example
 * ```ts
 * stripJsonc(`{ "a": 1, // one\n }`); // `{ "a": 1 \n }`
 * ```
 */
export function stripJsonc(text: string): string {
  // First pass: comments out, strings copied whole.
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const end = stringEnd(text, i);
      out += text.slice(i, end + 1);
      i = end;
    } else if (c === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      i = end < 0 ? text.length : end + 1;
    } else {
      out += c;
    }
  }
  // Second pass: a comma outside strings followed only by space and } or ].
  let result = "";
  for (let i = 0; i < out.length; i++) {
    const c = out[i];
    if (c === '"') {
      const end = stringEnd(out, i);
      result += out.slice(i, end + 1);
      i = end;
    } else if (!(c === "," && /^\s*[}\]]/.test(out.slice(i + 1)))) {
      result += c;
    }
  }
  return result;
}

/**
 * Checks the parsed JSON of the policy at `path`: every key known, every
 * value valid.
 *
 * @example
 * ```ts
 * parsePolicy({ warm: { mode: "reuse" } }, "/etc/slurm/hooks/deno.json").warm.mode; // "reuse"
 * ```
 * @throws {PolicyError} naming the file, the key and the fix.
 */
export function parsePolicy(json: unknown, path: string): PolicyFile {
  const ctx: KeyContext = { file: path, dir: dirname(path) };
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new PolicyError(`${path}: a policy must be a JSON object`, { file: path });
  }
  const known = Object.keys(POLICY_KEYS);
  for (const key of Object.keys(json)) {
    if (key in POLICY_KEYS || DENO_TOOLING_KEYS.includes(key)) continue;
    if (key in DENO_UNAPPLIED_KEYS) {
      throw keyError(ctx, key, "is not applied to hooks", DENO_UNAPPLIED_KEYS[key]);
    }
    const near = closest(key, [...known, ...DENO_TOOLING_KEYS]);
    throw keyError(
      ctx,
      key,
      "is not a key prep-deno knows",
      near ? `did you mean "${near}"? (use ${known.join(", ")})` : `use ${known.join(", ")}`,
    );
  }
  const values = json as Record<string, unknown>;
  const out: Record<string, unknown> = { path };
  for (const [key, parse] of Object.entries(POLICY_KEYS)) {
    out[key] = (parse as (v: unknown, c: KeyContext) => unknown)(values[key], ctx);
  }
  return out as PolicyFile;
}

/**
 * Parses the text of the policy at `path` (JSONC, a byte order mark read
 * past).
 *
 * @example
 * ```ts
 * parsePolicyText('\uFEFF{ "imports": { "u": "./u.ts" } }', "/h/deno.json").imports;
 * // { u: "file:///h/u.ts" }
 * ```
 * @throws {PolicyError} when it is not JSON, or any key is wrong.
 */
export function parsePolicyText(text: string, path: string): PolicyFile {
  let json: unknown;
  try {
    json = JSON.parse(stripJsonc(text.replace(/^\uFEFF/, "")));
  } catch (e) {
    throw new PolicyError(`${path}: cannot read the policy: ${(e as Error).message}`, {
      file: path,
      fix: "make it valid JSON (comments and trailing commas are allowed)",
    });
  }
  return parsePolicy(json, path);
}

const cache = new Map<string, { stamp: string; file: PolicyFile }>();

/**
 * Reads and checks the policy at `path`: the one parse of a deno.json. Its
 * trust (owner, modes, the folders above) is `policy.ts`'s `findConfig`'s
 * job, done before.
 *
 * @example
 * ```ts
 * import { readPolicyFile } from "./policy_file.ts";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(`${dir}/deno.json`, '{ "permissions": { "default": { "env": true } } }');
 * readPolicyFile(`${dir}/deno.json`).permissions.default; // { env: true }
 * Deno.removeSync(dir, { recursive: true });
 * ```
 * @throws {PolicyError} when it cannot be read, is not UTF-8 JSON, or any key is wrong.
 */
export function readPolicyFile(path: string): PolicyFile {
  try {
    const info = Deno.statSync(path);
    const stamp =
      `${info.dev}:${info.ino}:${info.size}:${info.mtime?.getTime()}:${info.ctime?.getTime()}`;
    const hit = cache.get(path);
    if (hit?.stamp === stamp) return hit.file;
    const bytes = Deno.readFileSync(path);
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      throw new PolicyError(`${path}: cannot read the policy: it is not UTF-8`, {
        file: path,
        fix: "save it as UTF-8",
      });
    }
    // A bundle (src/sandbox/bundle.ts) carries its policy in its first line.
    const bundled = text.startsWith(BUNDLE_MARKER) ? readEmbeddedPolicy(path) : undefined;
    const file = bundled ? parsePolicy(bundled.config, path) : parsePolicyText(text, path);
    cache.set(path, { stamp, file });
    return file;
  } catch (e) {
    if (e instanceof PolicyError) throw e;
    throw new PolicyError(`${path}: cannot read the policy: ${(e as Error).message}`, {
      file: path,
    });
  }
}
