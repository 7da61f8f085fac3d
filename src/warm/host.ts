// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * A warm host: one per (module, hook), inside the same kernel sandbox as the
 * spawn path's host, with the same Deno permissions for its Workers. It
 * keeps a Worker pre-started with the module imported; each job takes one
 * and the Worker ends with the job (no state crosses jobs), while the next
 * one warms up. A module changed on disk since a Worker imported it is
 * imported afresh for the job.
 *
 * @module
 */

import { pathToFileURL } from "node:url";
import { type HostSpec, statusOf } from "../host.ts";
import { EXIT, type WorkerReport } from "../outcome.ts";
import { workerPermissions } from "../policy.ts";
import { writeAll } from "../bytes.ts";
import { decodeRequest, encodeReply, readFrame } from "./protocol.ts";

/** What serve passes a warm host. */
export interface WarmHostSpec
  extends Pick<HostSpec, "modulePath" | "hook" | "permissions" | "configPath" | "setName"> {
  /** The unix socket to listen on (in a folder bound into the sandbox). */
  socketPath: string;
}

/** Pre-started Workers kept ready per host. */
const READY_WORKERS = 2;

interface Prepared {
  worker: Worker;
  /** The module file as it was when the Worker imported it. */
  signature: string;
  /** Settles once the import is done (or failed: the job then reports it). */
  ready: Promise<void>;
  /** A load failure or early report, delivered to the job. */
  early?: WorkerReport;
}

function signature(path: string): string {
  try {
    const s = Deno.statSync(path);
    return `${s.ino}:${s.size}:${s.mtime?.getTime()}`;
  } catch {
    return "missing";
  }
}

/** Listens on the spec's socket and runs one job per connection. */
export async function warmHost(spec: WarmHostSpec): Promise<number> {
  const pool: Prepared[] = [];
  let warming = 0;
  const prepare = (): Prepared => {
    const worker = new Worker(new URL("../worker.ts", import.meta.url), {
      type: "module",
      name: spec.hook,
      deno: { permissions: workerPermissions(spec.permissions) },
    });
    const p: Prepared = { worker, signature: signature(spec.modulePath), ready: Promise.resolve() };
    p.ready = new Promise((resolve) => {
      worker.onmessage = (e: MessageEvent<WorkerReport>) => {
        if (e.data.kind !== "ready") p.early = e.data;
        resolve();
      };
      worker.onerror = (e) => {
        e.preventDefault();
        p.early = { kind: "load-failed", message: e.message };
        resolve();
      };
    });
    worker.postMessage({ moduleUrl: pathToFileURL(spec.modulePath).href, preload: true });
    return p;
  };
  const topUp = () => {
    while (pool.length + warming < READY_WORKERS) {
      warming++;
      const p = prepare();
      p.ready.then(() => {
        warming--;
        pool.push(p);
      });
    }
  };
  const take = async (): Promise<Prepared> => {
    let p = pool.shift() ?? prepare();
    await p.ready;
    if (p.signature !== signature(spec.modulePath)) {
      p.worker.terminate();
      p = prepare();
      await p.ready;
    }
    return p;
  };

  const listener = Deno.listen({ transport: "unix", path: spec.socketPath });
  topUp();
  for await (const conn of listener) {
    // The replacement Worker starts once the reply is out, not before the
    // job: its start-up would otherwise delay the job on this thread.
    serveJob(conn, take, spec).catch((e) => console.error(`prep-deno warm host: ${e}`))
      .finally(topUp);
  }
  return 0;
}

async function serveJob(conn: Deno.Conn, take: () => Promise<Prepared>, spec: WarmHostSpec) {
  let p: Prepared | undefined;
  try {
    const payload = await readFrame(conn);
    if (!payload) return;
    const req = decodeRequest(payload);
    p = await take();
    const worker = p.worker;
    const early = p.early;
    const chunks: Uint8Array[] = [];
    const label = `${spec.hook} ${spec.modulePath} job ${req.env.SLURM_JOB_ID ?? "?"}`;
    const fail = (status: number, message: string) => {
      chunks.push(new TextEncoder().encode(`prep-deno: ${label}: ${message}\n`));
      return status;
    };
    const status = await new Promise<number>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const settle = (s: number) => {
        clearTimeout(timer);
        // Stop the hook now (a timeout must), but tear the isolate down only
        // after the reply is out.
        worker.onmessage = null;
        resolve(s);
      };
      if (early) return settle(statusOf(early, spec, fail));
      if (req.timeoutSeconds) {
        timer = setTimeout(
          () =>
            settle(
              fail(EXIT.TIMEOUT, `timed out after ${req.timeoutSeconds} s; the hook was killed`),
            ),
          req.timeoutSeconds * 1000,
        );
      }
      worker.onmessage = (e: MessageEvent<WorkerReport>) => {
        if (e.data.kind === "output") chunks.push(e.data.data);
        else settle(statusOf(e.data, spec, fail));
      };
      worker.onerror = (e) => {
        e.preventDefault();
        settle(fail(EXIT.FAILED, `uncaught error: ${e.message}`));
      };
      worker.postMessage({ hook: spec.hook, env: req.env, captureOutput: true });
    });
    const output = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let off = 0;
    for (const c of chunks) output.set(c, off), off += c.length;
    await writeAll(conn, encodeReply({ status, output }));
  } finally {
    p?.worker.terminate();
    conn.close();
  }
}
