// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The service's own socket: created only where nothing else is. A path that
 * is not a socket is never removed, a socket a live service answers on is
 * never taken over, and an existing folder keeps its mode (only a folder the
 * service creates is made root-only).
 *
 * @module
 */

import { dirname } from "node:path";

/** Why `serve` will not listen on the path; the message says what to do. */
export class SocketRefused extends Error {
  override name = "SocketRefused";
}

/**
 * Listens on `path` (mode 0600), removing only a stale socket there.
 *
 * @example
 * ```ts
 * const listener = await claimSocket("/run/prep-deno/serve.sock");
 * ```
 * @throws {SocketRefused} when the path is taken.
 */
export async function claimSocket(path: string): Promise<Deno.UnixListener> {
  const dir = dirname(path);
  let dirInfo: Deno.FileInfo | undefined;
  try {
    dirInfo = Deno.statSync(dir);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
  if (dirInfo && !dirInfo.isDirectory) throw new SocketRefused(`${dir} is not a folder`);
  let info: Deno.FileInfo | undefined;
  try {
    info = Deno.lstatSync(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  if (info) {
    if (!info.isSocket) {
      throw new SocketRefused(
        `${path} exists and is not a socket; refusing to replace it (choose another --socket, or remove it yourself)`,
      );
    }
    if (await answers(path)) {
      throw new SocketRefused(
        `${path} is held by a running prep-deno serve; stop that one first (systemctl stop prep-deno-serve)`,
      );
    }
    Deno.removeSync(path); // a stale socket, nobody listens
  }
  const listener = Deno.listen({ transport: "unix", path });
  Deno.chmodSync(path, 0o600); // root only: the plugin runs as root
  return listener;
}

async function answers(path: string): Promise<boolean> {
  try {
    (await Deno.connect({ transport: "unix", path })).close();
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.ConnectionRefused) return false;
    throw e;
  }
}
