// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * What `slurm: true` puts in a hook's view: slurm.conf's folder (read-only,
 * its secrets hidden) and munge's socket folder, so that Slurm's client
 * commands work from a hook.
 *
 * The rule for what the hook sees in that folder does not depend on how the
 * folder is reached (this bind, a `read` grant of it or of a folder above,
 * the hook's own root): everything in it, subfolders included, that not
 * every user of the node could read is masked, after every other bind (see
 * bwrapArgs in src/sandbox/sandbox.ts). A symlink is judged by what it points to.
 * The plan cache keeps the folders' listings as deps, so a file added or
 * made private later gets a new plan that masks it.
 *
 * @module
 */

import { basename, dirname, join, resolve } from "node:path";
import { GrantError, resolveGrant } from "./trust.ts";

/** Where Slurm's client commands find their configuration and munge. */
export interface SlurmClientPaths {
  /** slurm.conf itself (links resolved): the hook's SLURM_CONF. */
  readonly confPath?: string;
  /** The folder of slurm.conf (it names gres.conf, cgroup.conf, ... beside it). */
  readonly confDir: string;
  /** The folder of munge's socket, when munge is the auth plugin. */
  readonly mungeDir?: string;
  /** Files in or reached from `confDir` that the view hides behind /dev/null. */
  readonly hidden?: readonly string[];
  /** Folders in or reached from `confDir` that the view hides behind an empty tmpfs. */
  readonly hiddenDirs?: readonly string[];
  /** Every folder walked (its listing decides the masks) and entry judged, for the plan cache. */
  readonly walked?: readonly string[];
}

/**
 * Files of Slurm's configuration folder that no hook's view shows, though
 * `slurm: true` binds the folder, even when any user could read them:
 * slurmdbd's database password, the auth/slurm and cred/slurm key (a
 * cluster-wide root key: whoever reads it forges any user's credential),
 * the JWT signing key. Client commands need none of them with munge. Any
 * other `*.key` there is hidden too, and so is everything only some users
 * could read (see the module's rule).
 */
export const SLURM_SECRETS = ["slurmdbd.conf", "slurm.key", "jwt_hs256.key"] as const;

/**
 * Where slurm.conf is, as Slurm's own commands find it: `SLURM_CONF` (slurmd
 * passes it to hooks; the runner sets it to the daemon's `--slurm-conf`),
 * else the default compiled into the Slurm on this host when that file
 * exists, else configless slurmd's `/run/slurm/conf/slurm.conf` when that
 * exists (read_config.c's order), else the compiled-in default.
 *
 * @example
 * ```ts
 * slurmConfPath({ SLURM_CONF: "/opt/slurm/etc/slurm.conf" }); // "/opt/slurm/etc/slurm.conf"
 * ```
 */
export function slurmConfPath(env: Readonly<Record<string, string | undefined>>): string {
  if (env.SLURM_CONF) return env.SLURM_CONF;
  const builtIn = slurmBuildDefault(env.PATH);
  if (exists(builtIn)) return builtIn;
  return exists(CONFIGLESS_LINK) ? CONFIGLESS_LINK : builtIn;
}

/** The link configless slurmd makes to its cache's slurm.conf (slurmd.c, _handle_slash_run). */
const CONFIGLESS_LINK = "/run/slurm/conf/slurm.conf";

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The slurm.conf path compiled into the Slurm whose `scontrol` is first on
 * `path` (libslurmfull's `default_slurm_config_file`, `$sysconfdir/slurm.conf`),
 * else `/etc/slurm/slurm.conf`. Read from the library's bytes: the one
 * absolute `.../slurm.conf` string there besides the configless link.
 *
 * @example
 * ```ts
 * slurmBuildDefault("/usr/bin"); // "/etc/slurm/slurm.conf" with Debian's Slurm
 * ```
 */
export function slurmBuildDefault(path = Deno.env.get("PATH") ?? ""): string {
  const fallback = "/etc/slurm/slurm.conf";
  for (const dir of path.split(":").filter((d) => d.startsWith("/"))) {
    let bin: string;
    try {
      bin = Deno.realPathSync(join(dir, "scontrol"));
    } catch {
      continue;
    }
    const prefix = dirname(dirname(bin));
    for (
      const lib of [
        join(prefix, "lib/slurm/libslurmfull.so"),
        join(prefix, "lib64/slurm/libslurmfull.so"),
        join(prefix, "lib/x86_64-linux-gnu/slurm-wlm/libslurmfull.so"),
        join(prefix, "lib/aarch64-linux-gnu/slurm-wlm/libslurmfull.so"),
      ]
    ) {
      let bytes: Uint8Array;
      try {
        bytes = Deno.readFileSync(lib);
      } catch {
        continue;
      }
      const text = new TextDecoder("latin1").decode(bytes);
      const found = new Set(
        [...text.matchAll(/\0(\/[^\0\s%]*\/slurm\.conf)\0/g)].map((m) => m[1])
          .filter((p) => p !== CONFIGLESS_LINK),
      );
      return found.size === 1 ? [...found][0] : fallback;
    }
    return fallback;
  }
  return fallback;
}

/** The munge socket slurm.conf names (AuthInfo=socket=...), else munge's default. */
export function mungeSocketPath(slurmConf: string): string {
  let text = "";
  try {
    text = Deno.readTextFileSync(slurmConf);
  } catch { /* the default below */ }
  const authInfo = /^\s*AuthInfo\s*=\s*(\S+)/im.exec(text)?.[1] ?? "";
  return /(?:^|,)socket=([^,\s]+)/i.exec(authInfo)?.[1] ?? "/run/munge/munge.socket.2";
}

/**
 * Slurm's client paths for the environment slurmd gives hooks; `shown`
 * (the hook's module and policy file) are never masked.
 *
 * @example
 * ```ts
 * import { resolveSlurmClient } from "./view_slurm.ts";
 * export function slurmConfDir(): string {
 *   return resolveSlurmClient({ SLURM_CONF: "/etc/slurm/slurm.conf" }).confDir; // "/etc/slurm"
 * }
 * ```
 * @throws {GrantError} when slurm.conf is missing or could be redirected.
 */
export function resolveSlurmClient(
  env: Readonly<Record<string, string | undefined>>,
  shown: readonly string[] = [],
): SlurmClientPaths {
  const conf = resolveGrant(slurmConfPath(env));
  const socket = mungeSocketPath(conf.real);
  let mungeDir: string | undefined;
  try {
    mungeDir = resolveGrant(dirname(socket)).real;
  } catch (e) {
    // Slurm built without munge (auth/slurm) needs no socket.
    if (!(e instanceof GrantError)) throw e;
  }
  const confDir = dirname(conf.real);
  return { confPath: conf.real, confDir, mungeDir, ...slurmMasks(confDir, [conf.real, ...shown]) };
}

/** Most entries walked in slurm.conf's folder: past it the view is refused, not guessed. */
export const SLURM_WALK_MAX = 5000;

/** Whether `mode` lets every user read (a file) or list and enter (a folder). */
function forEveryone(info: Deno.FileInfo): boolean {
  const mode = info.mode ?? 0;
  return info.isDirectory ? (mode & 0o005) === 0o005 : (mode & 0o004) !== 0;
}

/** Whether every folder from `/` down to `real` lets everyone in, and `real` lets everyone read. */
function readableByAll(real: string): boolean {
  try {
    for (let d = dirname(real); d !== dirname(d); d = dirname(d)) {
      if (((Deno.statSync(d).mode ?? 0) & 0o001) === 0) return false;
    }
    return forEveryone(Deno.statSync(real));
  } catch {
    return false;
  }
}

function isSecretName(name: string): boolean {
  return (SLURM_SECRETS as readonly string[]).includes(name) || name.endsWith(".key");
}

/**
 * What the view masks in `confDir` (subfolders included): each file that
 * not every user could read or that is a named secret, each folder that
 * not every user could enter (whole), and what a symlink there points to
 * when that fails the same rule (judged on the whole path to it, as any
 * user would reach it). `shown` (slurm.conf, the hook's module and policy)
 * is never masked.
 *
 * @throws {GrantError} when the folder holds more than {@linkcode SLURM_WALK_MAX} entries.
 */
export function slurmMasks(
  confDir: string,
  shown: readonly string[] = [],
): { hidden: string[]; hiddenDirs: string[]; walked: string[] } {
  const hidden = new Set<string>(), hiddenDirs = new Set<string>(), walked: string[] = [];
  // Folders walked by their real path, so that links in a loop end.
  const visited = new Set<string>([Deno.realPathSync(confDir)]);
  const visit = (dir: string) => {
    walked.push(dir);
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(dir)];
    } catch (e) {
      if (dir === confDir) throw e;
      // Gone since listed (a spool folder in it, say): its listing dep makes a new plan.
      return;
    }
    for (const e of entries) {
      if (walked.length > SLURM_WALK_MAX) {
        throw new GrantError(
          `slurm: true: ${confDir} (slurm.conf's folder) holds more than ${SLURM_WALK_MAX} entries; keep slurm.conf in a folder of its own`,
        );
      }
      const path = join(dir, e.name);
      walked.push(path);
      if (shown.includes(path)) continue;
      let info: Deno.FileInfo;
      try {
        info = Deno.lstatSync(path);
      } catch {
        continue; // gone since listed: the dir's listing dep makes a new plan
      }
      if (info.isSymlink) {
        // Judged by its target: masked where the hook would reach it.
        let real: string, target: Deno.FileInfo;
        try {
          real = Deno.realPathSync(path);
          target = Deno.statSync(real);
        } catch {
          // Dangling: nothing to read now; the folder its target would
          // appear in is a dep, so a target made later gets a new plan.
          try {
            walked.push(dirname(resolve(dir, Deno.readLinkSync(path))));
          } catch { /* gone */ }
          continue;
        }
        walked.push(real);
        if (shown.includes(real)) continue;
        if (isSecretName(e.name) || isSecretName(basename(real)) || !readableByAll(real)) {
          (target.isDirectory ? hiddenDirs : hidden).add(real);
        } else if (target.isDirectory && !visited.has(real)) {
          // A linked folder is judged as a subfolder: what is in it too.
          visited.add(real);
          visit(real);
        }
      } else if (info.isDirectory) {
        if (forEveryone(info)) {
          visited.add(path);
          visit(path);
        } else hiddenDirs.add(path);
      } else if (info.isFile && (isSecretName(e.name) || !forEveryone(info))) {
        hidden.add(path);
      }
    }
  };
  visit(confDir);
  // A mask inside a masked folder is gone with it (bwrap could not make it).
  const dirs = [...hiddenDirs].sort();
  const under = (p: string) => dirs.some((d) => d !== p && p.startsWith(`${d}/`));
  return {
    hidden: [...hidden].filter((p) => !under(p)).sort(),
    hiddenDirs: dirs.filter((d) => !under(d)),
    walked,
  };
}
