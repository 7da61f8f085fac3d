// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `prep-deno serve`: the warm service, one per daemon host, as root, outside
 * any sandbox and never importing a hook itself. It answers the plugin on a
 * root-only unix socket and hands each job to the warm host of its (module,
 * hook): a process inside the same bubblewrap view and with the same Deno
 * permissions the spawn path would give that hook. A policy change restarts
 * that warm host; a warm host that dies fails the hooks it was running (they
 * may have run in part, so they are not run again) and is restarted for the
 * next.
 *
 * @module
 */

import { dirname, join, resolve } from "node:path";
import { EXIT } from "../outcome.ts";
import { loadPolicy, type Policy, PolicyError } from "../policy.ts";
import { bwrapArgs, findBwrap } from "../sandbox.ts";
import { selfCommand } from "../self_command.ts";
import { HOOK_FOR_CONTEXT, isScriptContext } from "../slurm_vars.ts";
import { DEFAULT_HEAP_MB, hookSandbox, SANDBOX_RUNTIME_ENV } from "../launch/mod.ts";
import type { HookName } from "../types.ts";
import type { WarmHostSpec } from "./host.ts";
import { writeAll } from "../bytes.ts";
import { decodeRequest, encodeFrame, encodeReply, readFrame } from "./protocol.ts";

/** Where the plugin looks for the service unless PrEpParameters says otherwise. */
export const DEFAULT_SOCKET = "/run/prep-deno/serve.sock";

/** The service's options. */
export interface ServeOptions {
  socketPath: string;
  heapMb?: number;
}

interface WarmHostHandle {
  key: string;
  policyKey: string;
  socketPath: string;
  child: Deno.ChildProcess;
  alive: boolean;
  ready: Promise<void>;
}

const encoder = new TextEncoder();

/** Runs the service until it is killed. */
export async function serve(opts: ServeOptions): Promise<number> {
  const socketPath = resolve(opts.socketPath);
  const runDir = dirname(socketPath);
  Deno.mkdirSync(runDir, { recursive: true, mode: 0o700 });
  Deno.chmodSync(runDir, 0o700);
  try {
    Deno.removeSync(socketPath);
  } catch { /* no stale socket */ }
  const hostsDir = Deno.makeTempDirSync({ dir: runDir, prefix: "hosts-" });
  const listener = Deno.listen({ transport: "unix", path: socketPath });
  Deno.chmodSync(socketPath, 0o600); // root only: the plugin runs as root
  console.error(`prep-deno serve: listening on ${socketPath}`);

  const hosts = new Map<string, WarmHostHandle>();
  let counter = 0;
  const startHost = (
    modulePath: string,
    hook: HookName,
    policy: Policy,
    policyKey: string,
  ): WarmHostHandle => {
    const dir = join(hostsDir, String(++counter));
    Deno.mkdirSync(dir, { mode: 0o700 });
    const self = selfCommand();
    const { hookRoot, permissions } = hookSandbox(modulePath, policy);
    const spec: WarmHostSpec = {
      modulePath,
      hook,
      permissions,
      configPath: policy.configPath,
      setName: policy.setName,
      socketPath: join(dir, "host.sock"),
    };
    const bwrap = findBwrap();
    if (!bwrap) {
      throw new PolicyError("bubblewrap (bwrap) is not installed: apt-get install bubblewrap");
    }
    const child = new Deno.Command(bwrap, {
      args: [
        ...bwrapArgs({
          runtimePaths: self.runtimePaths,
          hookRoot,
          permissions: policy.permissions,
          setenv: {
            ...SANDBOX_RUNTIME_ENV,
            DENO_V8_FLAGS: `--max-old-space-size=${opts.heapMb ?? DEFAULT_HEAP_MB}`,
          },
          runtimeWritable: [dir],
        }),
        "--",
        ...self.argv,
        "__warmhost",
        JSON.stringify(spec),
      ],
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    const handle: WarmHostHandle = {
      key: `${modulePath}\0${hook}`,
      policyKey,
      socketPath: spec.socketPath,
      child,
      alive: true,
      ready: waitForSocket(spec.socketPath, child),
    };
    child.status.then((s) => {
      handle.alive = false;
      if (hosts.get(handle.key) === handle) hosts.delete(handle.key);
      console.error(
        `prep-deno serve: warm host for ${hook} ${modulePath} ended (${s.signal ?? s.code})`,
      );
    });
    hosts.set(handle.key, handle);
    return handle;
  };

  const hostFor = (modulePath: string, hook: HookName): WarmHostHandle => {
    const policy = loadPolicy(modulePath, hook);
    const policyKey = policy.configPath ? `${policy.configPath}:${mtimeOf(policy.configPath)}` : "";
    const h = hosts.get(`${modulePath}\0${hook}`);
    if (h?.alive && h.policyKey === policyKey) return h;
    if (h?.alive) h.child.kill("SIGKILL"); // the policy changed: a new wall
    return startHost(modulePath, hook, policy, policyKey);
  };

  for await (const conn of listener) {
    handle(conn, hostFor).catch((e) => console.error(`prep-deno serve: ${e}`));
  }
  return 0;
}

async function handle(conn: Deno.Conn, hostFor: (m: string, h: HookName) => WarmHostHandle) {
  try {
    const payload = await readFrame(conn);
    if (!payload) return;
    const req = decodeRequest(payload);
    const reply = (status: number, message: string) =>
      writeAll(
        conn,
        encodeReply({
          status,
          output: encoder.encode(
            `prep-deno: ${req.modulePath} job ${req.env.SLURM_JOB_ID ?? "?"}: ${message}\n`,
          ),
        }),
      );
    if (!isScriptContext(req.context)) {
      return await reply(EXIT.USAGE, `bad context "${req.context}"`);
    }
    const hook = HOOK_FOR_CONTEXT[req.context];
    try {
      if (!Deno.statSync(req.modulePath).isFile) throw new Error();
    } catch {
      return await reply(EXIT.NOT_FOUND, "the module does not exist or cannot be read");
    }
    let host: WarmHostHandle;
    try {
      host = hostFor(req.modulePath, hook);
      await host.ready;
    } catch (e) {
      return await reply(EXIT.SANDBOX, (e as Error).message);
    }
    const label = `${hook} ${req.modulePath} job ${req.env.SLURM_JOB_ID ?? "?"}`;
    let upstream: Deno.UnixConn | undefined;
    try {
      try {
        upstream = await connectToHost(host.socketPath);
        await writeAll(upstream, encodeFrame(payload));
      } catch (e) {
        // The request never reached the warm host, so the hook did not run
        // there: no answer at all, and the plugin takes the spawn path.
        console.error(`prep-deno serve: ${label}: cannot hand the hook to its warm host: ${e}`);
        return;
      }
      let answer: Uint8Array | undefined;
      try {
        answer = await readFrame(upstream);
        if (!answer) throw new Error("it closed the connection without an answer");
      } catch (e) {
        // The hook reached the warm host and may have run in part: fail it,
        // never run it twice.
        console.error(`prep-deno serve: ${label}: the warm host failed during the hook: ${e}`);
        return await reply(
          EXIT.OUT_OF_MEMORY,
          "the warm host ended during the hook (out of memory, or killed); the hook failed and was not run again",
        );
      }
      await writeAll(conn, encodeFrame(answer));
    } finally {
      upstream?.close();
    }
  } finally {
    conn.close();
  }
}

/** Connects to a warm host, waiting out the moment between its bind and listen. */
async function connectToHost(path: string): Promise<Deno.UnixConn> {
  for (let attempt = 0;; attempt++) {
    try {
      return await Deno.connect({ transport: "unix", path });
    } catch (e) {
      if (
        attempt >= 40 ||
        !(e instanceof Deno.errors.ConnectionRefused || e instanceof Deno.errors.NotFound)
      ) {
        throw e;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

function mtimeOf(path: string): number {
  try {
    return Deno.statSync(path).mtime?.getTime() ?? 0;
  } catch {
    return 0;
  }
}

async function waitForSocket(path: string, child: Deno.ChildProcess): Promise<void> {
  let exited = false;
  child.status.then(() => exited = true);
  for (let i = 0; i < 1000; i++) {
    try {
      if (Deno.statSync(path).isSocket) return;
    } catch { /* not yet */ }
    if (exited) throw new Error("the warm host could not start (see the service's log)");
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("the warm host did not start within 10 s");
}
