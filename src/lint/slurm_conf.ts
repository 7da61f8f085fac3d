// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * What `check --slurm-conf` needs from slurm.conf: the hook lines
 * (`Prolog`, `Epilog`, `PrologSlurmctld`, `EpilogSlurmctld`), `PrEpPlugins`
 * and `PrEpParameters`, with `Include` files followed; and the hook files
 * each line names, found as the plugin finds them (a relative value is
 * slurm.conf's folder's, as Slurm 23.02.5+ resolves it; `Prolog` and
 * `Epilog` are globs, run in reverse glob order).
 *
 * @module
 */

import { dirname, isAbsolute, join, resolve } from "node:path";
import { slurmConfPath } from "../sandbox/view_slurm.ts";

/** The hook keys of slurm.conf, as Slurm spells them. */
export const HOOK_KEYS = ["Prolog", "Epilog", "PrologSlurmctld", "EpilogSlurmctld"] as const;
/** One hook key. */
export type HookKey = typeof HOOK_KEYS[number];

/** The parts of slurm.conf a lint reads. */
export interface SlurmConf {
  /** The file read first. */
  readonly path: string;
  /** Each hook key's values in line order (24.05+ allows several lines). */
  readonly hooks: Readonly<Record<HookKey, readonly string[]>>;
  /** `PrEpPlugins`, split at commas; empty when unset. */
  readonly prepPlugins: readonly string[];
  /** `PrEpParameters`, as written. */
  readonly prepParameters?: string;
  /** `SlurmctldParameters` has `enable_configless`: relative Prolog=/Epilog= files are shipped. */
  readonly configless?: boolean;
}

/**
 * The slurm.conf Slurm reads: `SLURM_CONF`, else the default path.
 *
 * @example
 * ```ts
 * defaultSlurmConf({ SLURM_CONF: "/etc/slurm-test/slurm.conf" }); // "/etc/slurm-test/slurm.conf"
 * ```
 */
export function defaultSlurmConf(
  env: Readonly<Record<string, string | undefined>> = Deno.env.toObject(),
): string {
  return slurmConfPath(env);
}

function unquote(v: string): string {
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
}

/**
 * Reads slurm.conf at `path` (and its `Include`s).
 *
 * @example
 * ```ts
 * import { readSlurmConf } from "./slurm_conf.ts";
 * export function prologs(): readonly string[] {
 *   return readSlurmConf("/etc/slurm/slurm.conf").hooks.Prolog; // ["/etc/slurm/hooks/prolog.ts"]
 * }
 * ```
 * @throws {Deno.errors.NotFound} when `path` is missing.
 */
export function readSlurmConf(path: string): SlurmConf {
  const hooks: Record<HookKey, string[]> = {
    Prolog: [],
    Epilog: [],
    PrologSlurmctld: [],
    EpilogSlurmctld: [],
  };
  let prepPlugins: string[] = [];
  let prepParameters: string | undefined;
  let configless = false;
  const seen = new Set<string>();
  const read = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const raw of Deno.readTextFileSync(file).split("\n")) {
      const line = raw.replace(/#.*$/, "").trim();
      if (!line) continue;
      const include = line.match(/^include\s+(.+)$/i);
      if (include) {
        const target = unquote(include[1].trim());
        read(isAbsolute(target) ? target : join(dirname(path), target));
        continue;
      }
      // A line may hold several KEY=VALUE pairs; hook values hold no spaces here.
      for (const pair of line.split(/\s+(?=[A-Za-z]+=)/)) {
        const eq = pair.indexOf("=");
        if (eq < 0) continue;
        const key = pair.slice(0, eq).toLowerCase();
        const value = unquote(pair.slice(eq + 1).trim());
        const hook = HOOK_KEYS.find((k) => k.toLowerCase() === key);
        if (hook) hooks[hook].push(value);
        else if (key === "prepplugins") prepPlugins = value.split(",").map((s) => s.trim());
        else if (key === "prepparameters") prepParameters = value;
        else if (key === "slurmctldparameters") {
          configless = value.split(",").some((p) => p.trim().toLowerCase() === "enable_configless");
        }
      }
    }
  };
  read(path);
  return { path, hooks, prepPlugins, prepParameters, configless };
}

/** A glob segment as a regular expression (`*`, `?`, `[...]`), as glob(3) matches names. */
function segmentRegex(segment: string): RegExp {
  let re = "";
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i];
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const end = segment.indexOf("]", i + 2);
      if (end < 0) re += "\\[";
      else {
        re += `[${segment.slice(i + 1, end).replace(/^!/, "^").replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  // glob(3) without GLOB_PERIOD: a leading dot is matched only by a dot.
  return new RegExp(`^${segment.startsWith(".") ? "" : "(?!\\.)"}${re}$`);
}

/**
 * The files a hook value names, as the plugin finds them: relative to
 * slurm.conf's folder; `Prolog`/`Epilog` expanded as globs, sorted.
 *
 * @example
 * ```ts
 * hookFiles("hooks/*.ts", "/etc/slurm/slurm.conf", true); // ["/etc/slurm/hooks/a.ts", "/etc/slurm/hooks/b.ts"]
 * ```
 */
export function hookFiles(value: string, confPath: string, glob: boolean): string[] {
  const path = isAbsolute(value) ? value : resolve(dirname(confPath), value);
  if (!glob || !/[*?[]/.test(path)) return [path];
  let found = ["/"];
  for (const segment of path.split("/").filter((s) => s !== "")) {
    const next: string[] = [];
    for (const dir of found) {
      if (!/[*?[]/.test(segment)) {
        next.push(join(dir, segment));
        continue;
      }
      const re = segmentRegex(segment);
      try {
        for (const e of Deno.readDirSync(dir)) if (re.test(e.name)) next.push(join(dir, e.name));
      } catch { /* an unreadable folder matches nothing, as glob(3) goes on */ }
    }
    found = next;
  }
  return found.filter((p) => {
    try {
      Deno.lstatSync(p);
      return true;
    } catch {
      return false;
    }
  }).sort();
}
