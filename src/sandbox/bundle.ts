// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * A bundle: one hook module that carries its own policy, for clusters where
 * Slurm ships the hook file alone (configless slurmd gets only the file a
 * relative `Prolog=`/`Epilog=` names). `prep-deno bundle` writes it; the
 * runner reads the policy from its first line before anything runs, and
 * honours it only where nobody but root could have put the file: slurmd's
 * configless cache, or any place where a deno.json would be trusted.
 *
 * @module
 */

import { basename, dirname, resolve } from "node:path";
import { untrustedReason } from "./trust.ts";

/** How a bundle's first line starts; the policy (one line of JSON) follows. */
export const BUNDLE_MARKER = "// prep-deno-policy: ";

/** The policy keys a bundle carries (a deno.json's other keys are the compiler's). */
export const BUNDLED_KEYS = ["permissions", "sandbox", "warm", "typecheck"] as const;

/** The policy a bundle carries, and the file it came from. */
export interface EmbeddedPolicy {
  /** The bundle itself. */
  readonly path: string;
  /** The policy object, as a deno.json holds it (only {@linkcode BUNDLED_KEYS}). */
  readonly config: Record<string, unknown>;
}

/** A bundle whose policy cannot be used: says why and the fix. */
export class BundleError extends Error {
  override name = "BundleError";
}

/** The first line of a file (at most 1 MiB of it), or "" when it cannot be read. */
function firstLine(path: string): string {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch {
    return "";
  }
  try {
    const buf = new Uint8Array(1 << 20);
    let n = 0;
    for (;;) {
      const got = file.readSync(buf.subarray(n));
      if (got === null || got === 0) break;
      n += got;
      const nl = buf.subarray(0, n).indexOf(10);
      if (nl >= 0) return new TextDecoder().decode(buf.subarray(0, nl));
      if (n === buf.length) break;
    }
    return new TextDecoder().decode(buf.subarray(0, n));
  } finally {
    file.close();
  }
}

/**
 * The policy embedded in the module at `path`, or undefined when it is not
 * a bundle (its first line is not {@linkcode BUNDLE_MARKER}).
 *
 * @example
 * ```ts
 * readEmbeddedPolicy("/var/spool/slurmd/conf-cache/prolog.ts")?.config.permissions;
 * ```
 * @throws {BundleError} when the marker is there but its JSON is not an object.
 */
export function readEmbeddedPolicy(path: string): EmbeddedPolicy | undefined {
  const line = firstLine(path);
  if (!line.startsWith(BUNDLE_MARKER)) return undefined;
  let config: unknown;
  try {
    config = JSON.parse(line.slice(BUNDLE_MARKER.length));
  } catch (e) {
    throw new BundleError(
      `${path}: the embedded policy cannot be read (${
        (e as Error).message
      }); make the bundle again with prep-deno bundle`,
    );
  }
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new BundleError(`${path}: the embedded policy is not an object`);
  }
  return { path, config: config as Record<string, unknown> };
}

/**
 * slurmd's configless cache folder when `slurmConf` is a configless slurmd's
 * own slurm.conf (`SlurmdSpoolDir/conf-cache/slurm.conf`, slurmd.c), else undefined.
 *
 * @example
 * ```ts
 * configlessCache("/var/spool/slurmd/conf-cache/slurm.conf"); // "/var/spool/slurmd/conf-cache"
 * configlessCache("/etc/slurm/slurm.conf"); // undefined
 * ```
 */
export function configlessCache(slurmConf: string | undefined): string | undefined {
  if (!slurmConf || basename(slurmConf) !== "slurm.conf") return undefined;
  const dir = dirname(resolve(slurmConf));
  return basename(dir) === "conf-cache" ? dir : undefined;
}

/**
 * Where the bundle at `path` may have its embedded policy honoured: a
 * sentence naming the place, or a {@linkcode BundleError} with the reason.
 * Honoured in slurmd's configless cache (root's, written by slurmd) and
 * anywhere a deno.json would be trusted: the file owned by root and
 * writable by nobody else, every folder above it too.
 *
 * @example
 * ```ts
 * import { bundleTrust } from "./bundle.ts";
 * export function configlessTrust(): string {
 *   const cache = "/var/spool/slurmd/conf-cache";
 *   return bundleTrust(`${cache}/prolog.ts`, `${cache}/slurm.conf`);
 *   // "slurmd's configless cache /var/spool/slurmd/conf-cache"
 * }
 * ```
 * @throws {BundleError} naming the file, why, and where a bundle belongs.
 */
export function bundleTrust(path: string, slurmConf?: string): string {
  let real: string;
  try {
    real = Deno.realPathSync(path);
  } catch (e) {
    throw new BundleError(`${path}: cannot be resolved: ${(e as Error).message}`);
  }
  // The same rule as a policy file: its owner could edit the grants.
  const why = untrustedReason(path, { ownerMatters: true, parentStrict: true }) ??
    (real !== path ? untrustedReason(real, { ownerMatters: true, parentStrict: true }) : undefined);
  if (why) {
    throw new BundleError(
      `${path}: embedded policy refused: ${why}; a bundle's policy is honoured only in slurmd's configless cache or where a deno.json would be (owned by root, it and every folder above it writable by nobody else)`,
    );
  }
  const cache = configlessCache(slurmConf);
  return cache && dirname(real) === Deno.realPathSync(cache)
    ? `slurmd's configless cache ${cache}`
    : `${dirname(real)}, which only root can change`;
}
