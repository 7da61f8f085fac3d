// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Runs one of the policy's privileged commands: the runner's broker, outside
 * the sandbox, runs it with the capabilities the policy names for it, in the
 * host's view, if its arguments match one of the policy's patterns. The
 * hook itself never holds those capabilities (docs/security.md,
 * "Privileged commands").
 *
 * @module
 */

import { CommandError, type CommandResult } from "./command.ts";

/** Where the hook's view holds the broker's socket (`LAUNCHER.PRIVILEGED_SOCKET`). */
const SOCKET = "/run/prep-deno/privileged.sock";

/**
 * Options of {@linkcode privileged}.
 *
 * @example
 * ```ts
 * import { privileged } from "./privileged.ts";
 * export async function prolog(): Promise<number> {
 *   const args = ["-m", "666", "/dev/nvidiactl", "c", "195", "255"];
 *   const r = await privileged("make-nodes", args, { allowFailure: true });
 *   return r.status === 0 ? 0 : 1;
 * }
 * ```
 */
export interface PrivilegedOptions {
  /** Resolve with a failed result instead of throwing (default: throw). */
  readonly allowFailure?: boolean;
}

/**
 * Asks the runner to run the privileged command `name` (a key of the
 * `"privileged"` object of the hook's `"sandbox"` set) with `args`. The
 * command gets a clean environment, `/` as its folder and no stdin.
 *
 * Throws {@linkcode CommandError} when it fails or when the policy does not
 * allow `args` (status 126, the message says which key to change), unless
 * `allowFailure`.
 *
 * @example
 * ```ts
 * import { privileged } from "prep-deno";
 * // deno.json: "privileged": { "gpu-power": { "command": "/usr/bin/nvidia-smi",
 * //   "capabilities": ["CAP_SYS_ADMIN"], "args": [["-i", "{int}", "-pl", "{num}"]] } }
 * export async function prolog() {
 *   await privileged("gpu-power", ["-i", "0", "-pl", "300"]);
 * }
 * ```
 * @throws {CommandError} naming the command and why it failed.
 */
export async function privileged(
  name: string,
  args: readonly string[] = [],
  opts: PrivilegedOptions = {},
): Promise<CommandResult> {
  const argv = [name, ...args];
  if (argv.some((a) => a.includes("\0"))) {
    throw new TypeError(`privileged: an argument of "${name}" contains a NUL byte`);
  }
  let conn: Deno.UnixConn;
  try {
    conn = await connect();
  } catch (e) {
    throw new CommandError({
      argv,
      status: 126,
      stdout: "",
      stderr: e instanceof Deno.errors.NotFound
        ? `privileged command "${name}": the hook's policy names no privileged commands (add "privileged" to its "sandbox" set), or the hook runs without the runner's launcher`
        : `privileged command "${name}": cannot reach the runner: ${(e as Error).message}`,
      timedOut: false,
    });
  }
  const bytes = await (async () => {
    try {
      await writeAll(conn, new TextEncoder().encode(argv.map((a) => a + "\0").join("")));
      await conn.closeWrite();
      return await readAll(conn);
    } finally {
      conn.close();
    }
  })();
  const nl = bytes.indexOf(10);
  const head = new TextDecoder().decode(bytes.subarray(0, nl < 0 ? 0 : nl));
  const m = /^(\d+) (\d+) (\d+)$/.exec(head);
  const decoder = new TextDecoder();
  const result: CommandResult = m
    ? {
      argv: [name, ...args],
      status: Number(m[1]),
      stdout: decoder.decode(bytes.subarray(nl + 1, nl + 1 + Number(m[2]))),
      stderr: decoder.decode(
        bytes.subarray(nl + 1 + Number(m[2]), nl + 1 + Number(m[2]) + Number(m[3])),
      ),
      timedOut: false,
    }
    : {
      argv,
      status: 126,
      stdout: "",
      stderr: `privileged command "${name}": the runner gave no answer`,
      timedOut: false,
    };
  if (result.status !== 0 && !opts.allowFailure) throw new CommandError(result);
  return result;
}

/**
 * The broker serves one request at a time; a burst of requests (Promise.all
 * over many GPUs) can fill its queue, and the kernel then answers EAGAIN:
 * wait and try again, as a blocking connect would have waited.
 */
async function connect(): Promise<Deno.UnixConn> {
  for (let wait = 1;; wait = Math.min(wait * 2, 100)) {
    try {
      return await Deno.connect({ transport: "unix", path: SOCKET });
    } catch (e) {
      if (!(e instanceof Deno.errors.WouldBlock)) throw e;
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
}

async function readAll(conn: Deno.Conn): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const buf = new Uint8Array(65536);
    const got = await conn.read(buf);
    if (got === null) break;
    chunks.push(buf.subarray(0, got));
    n += got;
  }
  const out = new Uint8Array(n);
  let off = 0;
  for (const c of chunks) out.set(c, off), off += c.length;
  return out;
}
