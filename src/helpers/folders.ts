// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Per-job folders: make one owned by the job user, remove a tree. Safe in
 * folders users can write (`/tmp`, `/dev/shm`): an existing entry that a user
 * could have planted (a symlink, or a folder they own with the wrong mode)
 * is never followed.
 *
 * Deno 2.9 refuses any path under `/dev` and `/proc` unless a hook has
 * `"all": true`; for such paths (`/dev/shm/...`) these helpers do the work
 * through coreutils commands instead, which the policy grants under `run`
 * (`/usr/bin/stat`, `/usr/bin/mkdir`, `/usr/bin/chown`, `/usr/bin/chmod`,
 * `/usr/bin/rm`). The kernel view still bounds what they reach.
 *
 * @module
 */

import { runCommand } from "./command.ts";

// No static `node:` import in the helpers: the first one costs a hook ~40 ms
// of Deno's Node compatibility start-up on every run, used or not. node:fs
// (for fchmod/fchown on a checked descriptor) loads when a folder is made.
const nodeFs = () => import("node:fs");

/** The folder part of an absolute `path` ("/a/b/" -> "/a", "/a" -> "/"), as node:path's. */
function dirname(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  const cut = trimmed.lastIndexOf("/");
  if (cut < 0) return trimmed === "" && path.startsWith("/") ? "/" : ".";
  return trimmed.slice(0, cut).replace(/\/+$/, "") || "/";
}

/** Who owns a job folder and how it is opened. */
export interface FolderOptions {
  /** Owner uid (the job's: `job.uid`). */
  readonly uid: number;
  /** Owner gid (the job's: `job.gid`). */
  readonly gid: number;
  /** Mode, default `0o700`. */
  readonly mode?: number;
  /**
   * Make missing parents (owned by root, mode 0755) first. Parents that
   * exist must be root's folders, not symlinks: in `/tmp` or `/dev/shm` a
   * user could have made them first.
   */
  readonly recursive?: boolean;
}

/** What a path is, without following a symlink. */
interface Entry {
  readonly kind: "directory" | "symlink" | "other";
  readonly uid: number;
  readonly gid: number;
  readonly mode: number;
  /** Device and inode (Deno's branch only): the entry the chown must reach. */
  readonly id?: { dev: number; ino: number };
}

/** Paths Deno 2.9 serves only with `"all": true`. */
function denoRefuses(path: string): boolean {
  return /^\/(dev|proc)(\/|$)/.test(path);
}

async function entryOf(path: string): Promise<Entry | undefined> {
  if (!denoRefuses(path)) {
    try {
      const i = Deno.lstatSync(path);
      return {
        kind: i.isSymlink ? "symlink" : i.isDirectory ? "directory" : "other",
        uid: i.uid ?? -1,
        gid: i.gid ?? -1,
        mode: (i.mode ?? 0) & 0o7777,
        id: { dev: i.dev, ino: i.ino ?? -1 },
      };
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return undefined;
      throw e;
    }
  }
  // stat without -L does not follow a symlink.
  const r = await runCommand(["/usr/bin/stat", "-c", "%F|%u|%g|%a", "--", path], {
    allowFailure: true,
    env: { LC_ALL: "C" },
  });
  if (r.status !== 0) {
    if (/No such file/.test(r.stderr)) return undefined;
    throw new Error(`cannot inspect ${path}: ${r.stderr.trim()}`);
  }
  const [type, uid, gid, mode] = r.stdout.trim().split("|");
  return {
    kind: type === "directory" ? "directory" : type === "symbolic link" ? "symlink" : "other",
    uid: Number(uid),
    gid: Number(gid),
    mode: parseInt(mode, 8),
  };
}

/**
 * Makes `path` a folder owned by `uid:gid` with `mode` (default 0700).
 * Idempotent: a folder already right is left alone; one owned by root is
 * fixed. Refuses a symlink, a non-folder, or a folder owned by someone else:
 * those could have been planted to redirect the chown.
 *
 * Needs: `write` of the path (Deno and the view) and `CAP_CHOWN` for
 * another owner (plus `CAP_DAC_OVERRIDE` to work inside a user's 700 folder).
 *
 * @example
 * ```ts
 * import type { JobContext } from "../types.ts";
 * import { makeJobFolder } from "./folders.ts";
 * export async function prolog(job: JobContext) {
 *   await makeJobFolder(`/scratch/${job.user}/${job.id}`, { uid: job.uid!, gid: job.gid!, recursive: true });
 * }
 * ```
 * @throws {Error} naming the path and what was refused.
 */
export async function makeJobFolder(path: string, opts: FolderOptions): Promise<void> {
  const mode = opts.mode ?? 0o700;
  if (opts.recursive) await makeParents(dirname(path));
  let entry = await entryOf(path);
  if (!entry) {
    await mkdir(path, mode);
    entry = await entryOf(path);
    if (!entry) throw new Error(`${path}: made, then gone`);
  }
  if (entry.kind !== "directory") {
    throw new Error(
      `${path} exists and is ${
        entry.kind === "symlink" ? "a symlink" : "not a folder"
      }; refusing to follow it (remove it first)`,
    );
  }
  const right = entry.uid === opts.uid && entry.gid === opts.gid && entry.mode === mode;
  if (right) return;
  if (entry.uid !== 0) {
    throw new Error(
      `${path} exists, owned by uid ${entry.uid} with mode ${
        entry.mode.toString(8)
      }; refusing to change a folder a user controls (remove it first)`,
    );
  }
  await chownChmod(path, entry, opts.uid, opts.gid, mode);
}

// A parent that exists must be root's own folder: one a user planted (in
// /tmp, /dev/shm) could be a symlink to elsewhere, or a folder in which they
// can rename what root makes for other users.
async function makeParents(dir: string): Promise<void> {
  const entry = await entryOf(dir);
  if (entry) {
    if (entry.kind !== "directory" || entry.uid !== 0) {
      throw new Error(
        `${dir} exists and is ${
          entry.kind === "symlink"
            ? "a symlink"
            : entry.kind === "directory"
            ? `owned by uid ${entry.uid}`
            : "not a folder"
        }; refusing to make job folders in what a user controls (make it root's, e.g. with tmpfiles.d, or remove it)`,
      );
    }
    return;
  }
  await makeParents(dirname(dir));
  await mkdir(dir, 0o755);
}

async function mkdir(path: string, mode: number): Promise<void> {
  if (denoRefuses(path)) {
    await runCommand(["/usr/bin/mkdir", "-m", mode.toString(8), "--", path]);
  } else {
    // Never chmod by name: the folder may be swapped for a link already.
    Deno.mkdirSync(path, { mode });
    const made = await entryOf(path);
    if (made?.kind !== "directory" || made.uid !== 0) {
      throw new Error(`${path} was replaced while being made; refusing (remove it first)`);
    }
    await onCheckedFolder(path, made, (fs, fd) => fs.fchmodSync(fd, mode));
  }
}

/** Runs `change` on the folder `path` names only if it is still `entry` (same device and inode). */
async function onCheckedFolder(
  path: string,
  entry: Entry,
  change: (fs: typeof import("node:fs"), fd: number) => void,
): Promise<void> {
  const fs = await nodeFs();
  const fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    const st = fs.fstatSync(fd);
    if (!entry.id || st.dev !== entry.id.dev || st.ino !== entry.id.ino) {
      throw new Error(
        `${path} was replaced while being made (by a symlink or another folder); refusing to change what it now names`,
      );
    }
    change(fs, fd);
  } finally {
    fs.closeSync(fd);
  }
}

// chmod while root still owns it, then chown: no CAP_FOWNER needed. Both
// act on the entry checked above and never through a symlink: in a folder
// the job user can write, they could swap the new folder for a link to any
// folder in the view between the check and the chown.
async function chownChmod(
  path: string,
  entry: Entry,
  uid: number,
  gid: number,
  mode: number,
): Promise<void> {
  if (denoRefuses(path)) {
    // chown -h never follows; chmod has no such switch, so it runs only
    // when needed (mkdir -m already made a new folder right) and the result
    // is checked after (a redirected chmod changes a mode, never an owner).
    if (entry.mode !== mode) await runCommand(["/usr/bin/chmod", mode.toString(8), "--", path]);
    await runCommand(["/usr/bin/chown", "-h", `${uid}:${gid}`, "--", path]);
    const after = await entryOf(path);
    if (after?.kind !== "directory" || after.uid !== uid || after.mode !== mode) {
      throw new Error(`${path} was replaced while being made; refusing (remove it first)`);
    }
    return;
  }
  await onCheckedFolder(path, entry, (fs, fd) => {
    fs.fchmodSync(fd, mode);
    fs.fchownSync(fd, uid, gid);
  });
}

/**
 * Removes `path` and everything under it; a missing path is fine. Symlinks
 * inside are removed, never followed; other filesystems mounted inside are
 * not entered.
 *
 * Needs: `write` of the path, and `CAP_DAC_OVERRIDE` (plus `CAP_FOWNER` in
 * sticky folders) when the tree belongs to the job user with mode 700.
 *
 * @example
 * ```ts
 * import type { JobContext } from "../types.ts";
 * import { removeTree } from "./folders.ts";
 * export async function epilog(job: JobContext) {
 *   await removeTree(`/tmp/${job.id}`);
 * }
 * ```
 * @throws {Error} naming the path when it cannot be removed.
 */
export async function removeTree(path: string): Promise<void> {
  if (path === "/" || path === "") throw new Error(`removeTree: refusing to remove "${path}"`);
  if (denoRefuses(path)) {
    await runCommand(["/usr/bin/rm", "-rf", "--one-file-system", "--", path]);
    return;
  }
  try {
    Deno.removeSync(path, { recursive: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw new Error(`cannot remove ${path}: ${(e as Error).message}`);
  }
}
