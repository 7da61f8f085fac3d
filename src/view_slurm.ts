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

/** Where slurm.conf is: `SLURM_CONF` as slurmd passes it to hooks, else Slurm's default. */
export function slurmConfPath(env: Readonly<Record<string, string | undefined>>): string {
  return env.SLURM_CONF || "/etc/slurm/slurm.conf";
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
  return { confDir, mungeDir, hidden: slurmSecrets(confDir) };
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
