// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `prep-deno serve`: the warm service, one per daemon host, as root, outside
 * any sandbox and never importing a hook itself. It answers the plugin on a
 * root-only unix socket and hands each job to a warm host of its (module,
 * hook): a process inside the same bubblewrap view and with the same Deno
 * permissions the spawn path would give that hook, running one job at a
 * time (see pool.ts, host.ts).
 *
 * Who stops what: the service arms each job's timeout when the request
 * arrives (so waiting for a host and the module's import count); when it
 * fires the job's host process is killed with its whole sandbox, and the
 * job gets 124. No other job ran in that process. A job whose host never
 * read it gets no answer, and the plugin runs it through the spawn path; a
 * job whose host read it and then died is failed, never run again.
 *
 * @module
 */

import { dirname, resolve } from "node:path";
import { EXIT } from "../outcome.ts";
import { loadPolicy, PolicyError } from "../policy.ts";
import { HOOK_FOR_CONTEXT, isScriptContext } from "../slurm_vars.ts";
import type { HookName } from "../types.ts";
import { writeAll } from "../bytes.ts";
import { warmConfig } from "./config.ts";
import { DEFAULT_HEAP_MB, type HostProcess, HostStartError } from "./host_process.ts";
import { Pool } from "./pool.ts";
import { decodeRequest, encodeFrame, encodeReply, readFrame } from "./protocol.ts";
import { claimSocket } from "./socket.ts";

/** Where the plugin looks for the service unless PrEpParameters says otherwise. */
export const DEFAULT_SOCKET = "/run/prep-deno/serve.sock";

/** The service's options. */
export interface ServeOptions {
  socketPath: string;
  heapMb?: number;
}

const encoder = new TextEncoder();

/** Runs the service until it is killed (SIGTERM: cleanly, socket removed). */
export async function serve(opts: ServeOptions): Promise<number> {
  const socketPath = resolve(opts.socketPath);
  const listener = await claimSocket(socketPath);
  const hostsDir = Deno.makeTempDirSync({ dir: dirname(socketPath), prefix: "hosts-" });
  console.error(`prep-deno serve: listening on ${socketPath}`);

  const pools = new Map<string, { version: string; pool: Pool }>();
  const poolFor = (modulePath: string, hook: HookName): Pool => {
    const policy = loadPolicy(modulePath, hook);
    const warm = warmConfig(policy.configPath);
    const version = [
      signature(modulePath),
      policy.configPath ? `${policy.configPath}:${signature(policy.configPath)}` : "",
      warm.mode,
      warm.hosts,
    ].join("\0");
    const key = `${modulePath}\0${hook}`;
    const known = pools.get(key);
    if (known?.version === version) return known.pool;
    known?.pool.drain(); // the module or its policy changed: a new wall
    const pool = new Pool({ modulePath, hook, policy, warm, hostsDir, heapMb: opts.heapMb });
    pools.set(key, { version, pool });
    return pool;
  };

  const stop = () => {
    for (const { pool } of pools.values()) pool.drain();
    try {
      Deno.removeSync(socketPath);
      Deno.removeSync(hostsDir, { recursive: true });
    } catch { /* gone */ }
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);

  for await (const conn of listener) {
    handle(conn, poolFor, opts).catch((e) => console.error(`prep-deno serve: ${e}`));
  }
  return 0;
}

async function handle(
  conn: Deno.Conn,
  poolFor: (m: string, h: HookName) => Pool,
  opts: ServeOptions,
) {
  let answered = false;
  let replying: Promise<void> | undefined;
  try {
    const payload = await readFrame(conn);
    if (!payload) return;
    const req = decodeRequest(payload);
    const label = `${req.modulePath} job ${req.env.SLURM_JOB_ID ?? "?"}`;
    const reply = (status: number, message: string) => {
      if (answered) return replying;
      answered = true;
      return replying = writeAll(
        conn,
        encodeReply({ status, output: encoder.encode(`prep-deno: ${label}: ${message}\n`) }),
      ).catch(() => {});
    };
    if (!isScriptContext(req.context)) {
      return await reply(EXIT.USAGE, `bad context "${req.context}"`);
    }
    const hook = HOOK_FOR_CONTEXT[req.context];
    try {
      if (!Deno.statSync(req.modulePath).isFile) throw new Error();
    } catch {
      return await reply(EXIT.NOT_FOUND, "the module does not exist or cannot be read");
    }
    let pool: Pool;
    try {
      pool = poolFor(req.modulePath, hook);
    } catch (e) {
      if (e instanceof PolicyError) return await reply(EXIT.SANDBOX, e.message);
      throw e;
    }
    const ticket = pool.acquire();
    let running: HostProcess | undefined;
    const timer = req.timeoutSeconds
      ? setTimeout(() => {
        if (running) {
          running.kill();
          reply(
            EXIT.TIMEOUT,
            `timed out after ${req.timeoutSeconds} s; the hook was killed with its warm host process (every process of the hook; no other job was running there)`,
          );
        } else {
          ticket.cancel();
          reply(
            EXIT.TIMEOUT,
            `timed out after ${req.timeoutSeconds} s waiting for a free warm host (all ${pool.launch.warm.hosts} busy, see "warm.hosts" in the policy); the hook never started`,
          );
        }
      }, req.timeoutSeconds * 1000)
      : undefined;
    try {
      try {
        running = await ticket.host;
      } catch (e) {
        if (e instanceof HostStartError) return await reply(EXIT.SANDBOX, e.message);
        throw e;
      }
      if (answered) return; // timed out in line
      const result = await running.run(payload);
      if (answered) return; // timed out: the timer answered
      if (result.kind === "reply") {
        answered = true;
        await writeAll(conn, encodeFrame(result.payload));
      } else if (result.kind === "not-started") {
        // The hook did not start: no answer, and the plugin runs it through the spawn path.
        answered = true;
        console.error(`prep-deno serve: ${hook} ${label}: ${result.why}; left to the spawn path`);
      } else if (result.outOfMemory) {
        await reply(
          EXIT.OUT_OF_MEMORY,
          `out of memory: the hook passed its heap limit of ${
            opts.heapMb ?? DEFAULT_HEAP_MB
          } MiB; its warm host process ended, and the hook was not run again`,
        );
      } else {
        await reply(
          EXIT.FAILED,
          `the warm host process ended during the hook (${result.why}); the hook had started and was not run again`,
        );
      }
    } finally {
      clearTimeout(timer);
      if (running) pool.release(running);
    }
  } finally {
    await replying; // a timeout's answer, written from the timer
    conn.close();
  }
}

/** Changes whenever the file is replaced or rewritten. */
function signature(path: string): string {
  try {
    const s = Deno.statSync(path);
    return `${s.ino}:${s.size}:${s.mtime?.getTime()}`;
  } catch {
    return "missing";
  }
}
