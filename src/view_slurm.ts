// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * What `slurm: true` puts in a hook's view: slurm.conf's folder (read-only,
 * its secrets hidden) and munge's socket folder, so that Slurm's client
 * commands work from a hook.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { GrantError, resolveGrant } from "./trust.ts";

/** Where Slurm's client commands find their configuration and munge. */
export interface SlurmClientPaths {
  /** slurm.conf itself (links resolved): the hook's SLURM_CONF. */
  readonly confPath?: string;
  /** The folder of slurm.conf (it names gres.conf, cgroup.conf, ... beside it). */
  readonly confDir: string;
  /** The folder of munge's socket, when munge is the auth plugin. */
  readonly mungeDir?: string;
  /** Secrets in `confDir` that the view hides (see {@linkcode SLURM_SECRETS}). */
  readonly hidden?: readonly string[];
}

/**
 * Files of Slurm's configuration folder that no hook's view shows, though
 * `slurm: true` binds the folder: slurmdbd's database password, the
 * auth/slurm and cred/slurm key (a cluster-wide root key: whoever reads it
 * forges any user's credential), the JWT signing key. Client commands need
 * none of them with munge. Any other `*.key` there is hidden too.
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
 * Slurm's client paths for the environment slurmd gives hooks.
 *
 * @example
 * ```ts
 * resolveSlurmClient({ SLURM_CONF: "/etc/slurm/slurm.conf" }).confDir; // "/etc/slurm"
 * ```
 * @throws {GrantError} when slurm.conf is missing or could be redirected.
 */
export function resolveSlurmClient(
  env: Readonly<Record<string, string | undefined>>,
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
  return { confPath: conf.real, confDir, mungeDir, hidden: slurmSecrets(confDir) };
}

/** The secrets present in Slurm's configuration folder (regular files only). */
function slurmSecrets(confDir: string): string[] {
  const found: string[] = [];
  for (const e of Deno.readDirSync(confDir)) {
    if (!e.isFile) continue;
    if ((SLURM_SECRETS as readonly string[]).includes(e.name) || e.name.endsWith(".key")) {
      found.push(join(confDir, e.name));
    }
  }
  return found.sort();
}
