// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Who could change a path: the runner trusts a policy file or a granted path
 * only when nobody but root (or the daemon's own user) could replace it or
 * any folder above it, as sshd's StrictModes does for authorized_keys.
 *
 * One difference from StrictModes, on purpose: a folder others can write is
 * accepted above a path when it has the sticky bit and the entry below it is
 * trusted (as `/tmp/job42` owned by root in `/tmp`): the sticky bit stops
 * others from renaming or removing that entry, so it cannot be redirected.
 *
 * @module
 */

import { dirname, join } from "node:path";

/** The owners trusted besides root: the user the runner runs as (SlurmUser for slurmctld hooks). */
export function trustedOwners(): ReadonlySet<number> {
  const uid = Deno.uid();
  return new Set(uid === null ? [0] : [0, uid]);
}

const GROUP_OR_OTHER_WRITE = 0o022;
const STICKY = 0o1000;

/** How strict {@linkcode untrustedReason} is. */
export interface TrustRule {
  /** Root, and the runner's own user: the only owners trusted. */
  readonly owners?: ReadonlySet<number>;
  /**
   * The entry's own owner and mode count (a policy file: its owner can edit
   * it). Off for grants: who owns `/scratch/alice` does not let them move it.
   */
  readonly ownerMatters?: boolean;
  /** The folder right above the entry must not be writable by others even with the sticky bit. */
  readonly parentStrict?: boolean;
}

/**
 * Why `path` (not followed if a symlink) could be replaced or redirected by
 * someone other than root or the runner's user; undefined when it cannot.
 *
 * @example
 * ```ts
 * import { untrustedReason } from "./trust.ts";
 * untrustedReason("/etc/passwd", { ownerMatters: true }); // undefined on a sane system
 * const file = Deno.makeTempFileSync({ dir: "/tmp" });
 * untrustedReason(file, { ownerMatters: true, parentStrict: true });
 * // "the folder /tmp is writable by group or others (mode 1777)"
 * Deno.removeSync(file);
 * ```
 */
export function untrustedReason(path: string, rule: TrustRule = {}): string | undefined {
  const owners = rule.owners ?? trustedOwners();
  const chain: string[] = [];
  for (let p = path;; p = dirname(p)) {
    chain.push(p);
    if (dirname(p) === p) break;
  }
  let below: Deno.FileInfo | undefined;
  for (let i = 0; i < chain.length; i++) {
    const p = chain[i];
    const info = Deno.lstatSync(p);
    const trustedOwner = info.uid === null || owners.has(info.uid);
    const writable = ((info.mode ?? 0) & GROUP_OR_OTHER_WRITE) !== 0;
    if (i === 0) {
      if (rule.ownerMatters && !trustedOwner) return `${p} is owned by uid ${info.uid}, not root`;
      if (rule.ownerMatters && info.isFile && writable) {
        return `${p} is writable by group or others (mode ${modeText(info)})`;
      }
    } else {
      if (!trustedOwner) return `the folder ${p} is owned by uid ${info.uid}, not root`;
      // The sticky bit keeps others from moving an entry they do not own.
      const stickyGuards = ((info.mode ?? 0) & STICKY) !== 0 &&
        !(i === 1 && rule.parentStrict) &&
        below !== undefined && (below.uid === null || owners.has(below.uid));
      if (writable && !stickyGuards) {
        return `the folder ${p} is writable by group or others (mode ${modeText(info)})`;
      }
    }
    below = info;
  }
  return undefined;
}

function modeText(info: Deno.FileInfo): string {
  return ((info.mode ?? 0) & 0o7777).toString(8).padStart(3, "0");
}

/** Whether `path` is `dir` or inside it. */
export function covers(dir: string, path: string): boolean {
  return path === dir || path.startsWith(dir.endsWith("/") ? dir : dir + "/");
}

/** A granted path as the sandbox binds it. */
export interface ResolvedGrant {
  /** The path as written in the policy (absolute). */
  readonly path: string;
  /** The host path it names, symlinks resolved once, here. */
  readonly real: string;
  /** What it is on the host. */
  readonly kind: "file" | "directory" | "device" | "other";
  /** The path as written is itself a symlink (to `real`): the view gets the same link. */
  readonly isLink: boolean;
  /**
   * Its folder is not root's alone (a service user's, say): the launcher
   * binds it by a descriptor it opens without following a link.
   */
  readonly byFd?: boolean;
}

/** A grant the runner refuses; the message names the path and why. */
export class GrantError extends Error {
  override name = "GrantError";
}

/**
 * Resolves a granted path once, refusing one that is missing or that a
 * non-root user could redirect (a symlink they own or could replace, or a
 * folder on the way they can write).
 *
 * @example
 * ```ts
 * resolveGrant("/scratch"); // { path: "/scratch", real: "/scratch", kind: "directory" }
 * ```
 * @throws {GrantError} naming the path and the reason.
 */
export function resolveGrant(
  path: string,
  owners: ReadonlySet<number> = trustedOwners(),
): ResolvedGrant {
  const missing = () =>
    new GrantError(
      `${path} does not exist on this host; create it first (a "write" grant may instead be listed under "create" of the sandbox set, with its mode and owner, for the runner to make); a grant is bound from the host, never made up inside the sandbox`,
    );
  // Every symlink met on the way must itself be beyond others' reach. The
  // real path is the one this walk found, never a second lookup that a
  // swap between the two could send elsewhere.
  let walked = "/";
  for (const part of path.split("/").filter((s) => s !== "")) {
    const next = join(walked, part);
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(next);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) throw missing();
      throw new GrantError(`${path} cannot be resolved: ${(e as Error).message}`);
    }
    if (info.isSymlink) {
      const why = untrustedReason(next, { owners });
      if (why) {
        throw new GrantError(`${path} is refused: it goes through the symlink ${next}, and ${why}`);
      }
      try {
        walked = Deno.realPathSync(next);
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) throw missing();
        throw new GrantError(`${path} cannot be resolved: ${(e as Error).message}`);
      }
    } else {
      walked = next;
    }
  }
  const real = walked;
  const info = Deno.lstatSync(real);
  const kind = info.isFile
    ? "file"
    : info.isDirectory
    ? "directory"
    : info.isCharDevice || info.isBlockDevice
    ? "device"
    : "other";
  const why = untrustedReason(real, { owners });
  let byFd = false;
  if (why) {
    // Judged as its folder is: a file or folder in a folder a service user
    // owns is accepted when that folder would be, and
    // bound by descriptor (opened without following a link at launch), so
    // whoever owns the folder cannot swap it for a link; else the folder's
    // own reason, the same words a grant of the folder gets.
    // Only its owner may change the folder's entries: in a folder others
    // can write, anyone could put their own file in the grant's place.
    const folderWhy = untrustedReason(dirname(real), { owners });
    const shared = ((Deno.lstatSync(dirname(real)).mode ?? 0) & GROUP_OR_OTHER_WRITE) !== 0;
    if (folderWhy || shared || (kind !== "file" && kind !== "directory")) {
      throw new GrantError(
        `${path} is refused: a non-root user could redirect it (${folderWhy ?? why})`,
      );
    }
    byFd = true;
  }
  return { path, real, kind, isLink: Deno.lstatSync(path).isSymlink, ...(byFd ? { byFd } : {}) };
}
