// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * A warm host: a process inside the hook's kernel sandbox that runs the jobs
 * of one (module, hook), ONE AT A TIME, each in a Worker with the policy's
 * permissions. The service kills the process when a job times out, so a
 * kill never touches another job.
 *
 * - `fresh`: a new Worker per job (pre-started, module imported, before the
 *   job comes); between jobs every other process of the sandbox is killed
 *   and its /tmp emptied.
 * - `reuse`: one Worker imports the module once and is called per job;
 *   between jobs every other process of the sandbox is killed.
 *
 * The host retires (ends after its reply, and the service starts another)
 * when its isolate may still be running something: a job that started
 * Workers of its own, called Deno.exit, or left its isolate busy.
 *
 * It talks to the service over one connection it opens at start; the
 * service then removes the socket file, so nothing started later in the
 * sandbox can connect in its place.
 *
 * @module
 */

import { pathToFileURL } from "node:url";
import { type Permissions, workerPermissions } from "../sandbox/policy.ts";
import { writeAll } from "../bytes.ts";
import type { WarmMode } from "./config.ts";
import { checkedOutcome, type JobReport, type PortMessage } from "./report.ts";
import { judgeLoad, judgeThrown } from "../outcome/hook_call.ts";
import { placePrefix } from "../outcome/outcome_record.ts";
import type { ViewSource } from "../outcome/capability_hints.ts";
import { MAX_OUTPUT, WARM_HOST_FRAMES } from "../contract.ts";
import { CappedOutput } from "../launch/output.ts";
import { decodeRequest, encodeFrame, readFrame, replyPayload, type WarmReply } from "./protocol.ts";

/** What the service passes a warm host (as JSON on its command line). */
export interface WarmHostSpec {
  /** Absolute path of the module. */
  modulePath: string;
  /** Hook export to call. */
  hook: string;
  /** Granted permissions. */
  permissions: Permissions;
  /** Where they came from, for messages. */
  configPath?: string;
  /** The set used, for messages. */
  setName?: string;
  /** The sandbox set used and the capabilities it keeps, for capability hints. */
  sandboxSet?: string;
  /** See `sandboxSet`. */
  capabilities?: string[];
  /** The service's socket for this host (connected once, then removed). */
  socketPath: string;
  /** How jobs share isolates. */
  mode: WarmMode;
  /** The sandbox has a PID namespace of its own (not the node's processes). */
  ownPidNamespace: boolean;
  /** The sandbox's /tmp is its own tmpfs (no grant brings the host's in). */
  privateTmp: boolean;
  /** URL of the Worker's program (the service knows where the build put it). */
  workerEntry: string;
}

// The frames of src/contract.ts (src/warm/host_process.ts reads them).
const ACK = new Uint8Array([WARM_HOST_FRAMES.ACK.charCodeAt(0)]);
const KEEP = WARM_HOST_FRAMES.KEEP.charCodeAt(0);
const RETIRE = WARM_HOST_FRAMES.RETIRE.charCodeAt(0);
const READY = new Uint8Array([WARM_HOST_FRAMES.READY.charCodeAt(0)]);
const OUTPUT = WARM_HOST_FRAMES.OUTPUT.charCodeAt(0);
const DROPPED = WARM_HOST_FRAMES.DROPPED;
/** Longest a host waits for its next isolate before it takes jobs again. */
const READY_WAIT_MS = 1000;

/** How long an isolate may take to answer a ping after its job before it counts as busy. */
const IDLE_CHECK_MS = 250;

interface Isolate {
  worker: Worker;
  port: MessagePort;
  /** Settles with undefined once imported, or with the load failure. */
  ready: Promise<JobReport | undefined>;
  /** Receives the port's messages for the job running. */
  onMessage?: (m: PortMessage) => void;
}

function startIsolate(spec: WarmHostSpec): Isolate {
  const from = {
    hook: spec.hook,
    configPath: spec.configPath,
    setName: spec.setName,
    view: viewSource(spec),
    // A thrown error's place is its first frame in here: the policy's folder, else the module's.
    root: (spec.configPath ?? spec.modulePath).replace(/\/[^/]*$/, ""),
  };
  const worker = new Worker(spec.workerEntry, {
    type: "module",
    name: spec.hook,
    deno: { permissions: workerPermissions(spec.permissions) },
  });
  // Messages the hook posts on its global scope: heard by nobody.
  worker.onmessage = null;
  const { port1, port2 } = new MessageChannel();
  const iso: Isolate = { worker, port: port1, ready: Promise.resolve(undefined) };
  iso.ready = new Promise((resolve) => {
    let imported = false;
    port1.onmessage = (e: MessageEvent) => {
      if (e.data.kind === "ready") imported = true, resolve(undefined);
      else if (!imported && e.data.kind === "outcome") resolve(e.data);
      else iso.onMessage?.(e.data);
    };
    worker.onerror = (e) => {
      e.preventDefault();
      resolve({ kind: "outcome", outcome: judgeLoad(e.message, from), closed: true });
      iso.onMessage?.({
        kind: "outcome",
        outcome: judgeThrown(e.message, from, "uncaught"),
        uncaught: true,
      });
    };
  });
  worker.postMessage({}, [port2]);
  port1.postMessage({ kind: "import", moduleUrl: pathToFileURL(spec.modulePath).href, from });
  return iso;
}

/** Listens to the service and runs its jobs until told to stop or retiring. */
export async function warmHost(spec: WarmHostSpec): Promise<number> {
  const conn = await Deno.connect({ transport: "unix", path: spec.socketPath });
  const runtimeEnv = Deno.env.toObject();
  // Only a hook that may run commands (or call native code) can leave
  // processes or give them an environment.
  const p = spec.permissions;
  const mayStartProcesses = !!(p.run || p.ffi || p.all);
  let iso = startIsolate(spec);
  // Every write in order: the output frames a job streams, then its answer.
  let sent: Promise<void> = Promise.resolve();
  const send = (bytes: Uint8Array) => sent = sent.catch(() => {}).then(() => writeAll(conn, bytes));
  for (;;) {
    const payload = await readFrame(conn);
    if (!payload) return 0;
    const req = decodeRequest(payload);
    await send(encodeFrame(ACK)); // from now on the hook may have started
    if (mayStartProcesses) useEnv(req.env, runtimeEnv);
    const stream = outputStream(send);
    const { reply, retire } = await runJob(iso, req.env, spec, stream.push);
    // Nothing streamed after the answer: the answer has all of it.
    stream.end();
    await sent.catch(() => {});
    if (mayStartProcesses) {
      endJobProcesses(spec.ownPidNamespace);
      useEnv(runtimeEnv, runtimeEnv);
    }
    if (spec.mode === "fresh" && spec.privateTmp) emptyTmp();
    const body = replyPayload(reply);
    const frame = new Uint8Array(body.length + 1);
    frame[0] = retire ? RETIRE : KEEP;
    frame.set(body, 1);
    if (spec.mode === "reuse" && !retire) {
      // Ready at once for the next job: one write for both frames.
      await writeAll(conn, concat(encodeFrame(frame), encodeFrame(READY)));
      continue;
    }
    await writeAll(conn, encodeFrame(frame));
    iso.worker.terminate();
    if (retire) {
      conn.close();
      return 0;
    }
    // Fresh: the host is free once its next isolate has the module imported
    // (or after a while, so a module whose import hangs meets a job's timeout).
    iso = startIsolate(spec);
    await Promise.race([iso.ready, new Promise((r) => setTimeout(r, READY_WAIT_MS))]);
    await writeAll(conn, encodeFrame(READY));
  }
}

/**
 * The hook's output to the service as it comes, in `O` frames: what came
 * while one frame was being written goes in the next, whole, so a hook
 * printing a byte at a time makes few frames and holds no more than the
 * cap in waiting (`push` of a CappedOutput only passes what it kept).
 * Past the cap, a `D` frame carries the count dropped so far (only the
 * latest is sent), so a job killed at its timeout keeps the truncation
 * note the spawn path gives. `end` at the job's answer: nothing is sent
 * after it (the answer has it all), so the next frame the service reads
 * is the answer.
 */
function outputStream(
  send: (bytes: Uint8Array) => Promise<void>,
): { push: (kept: Uint8Array, dropped: number) => void; end: () => void } {
  let waiting: Uint8Array[] = [];
  let dropped = 0;
  let droppedSent = 0;
  let writing = false;
  let ended = false;
  const flush = () => {
    const frames: Uint8Array[] = [];
    if (waiting.length) {
      const size = waiting.reduce((n, c) => n + c.length, 0);
      const frame = new Uint8Array(size + 1);
      frame[0] = OUTPUT;
      let off = 1;
      for (const c of waiting) frame.set(c, off), off += c.length;
      frames.push(encodeFrame(frame));
      waiting = [];
    }
    if (dropped > droppedSent) {
      frames.push(encodeFrame(new TextEncoder().encode(`${DROPPED}${dropped}`)));
      droppedSent = dropped;
    }
    if (!frames.length) return;
    writing = true;
    // The answer's own write (after these) says if the service is gone.
    Promise.all(frames.map(send)).catch(() => {}).finally(() => {
      writing = false;
      if ((waiting.length || dropped > droppedSent) && !ended) flush();
    });
  };
  return {
    push(kept, droppedSoFar) {
      if (ended) return;
      if (kept.length) waiting.push(kept);
      dropped = droppedSoFar;
      if (!writing) flush();
    },
    end() {
      ended = true;
      waiting = [];
    },
  };
}

async function runJob(
  iso: Isolate,
  env: Record<string, string>,
  spec: WarmHostSpec,
  stream: (kept: Uint8Array, dropped: number) => void,
): Promise<{ reply: WarmReply; retire: boolean }> {
  // The plugin keeps MAX_OUTPUT of a reply: the hook's share leaves room
  // for the truncation note and the runner's own messages.
  const out = new CappedOutput(MAX_OUTPUT - 4096);
  let notes = "";
  const place = { hook: spec.hook, module: spec.modulePath, job: env.SLURM_JOB_ID ?? "?" };
  const output = () => concat(out.bytes(), new TextEncoder().encode(notes));
  // A note for the log, in the hook's output: the outcome is the record's.
  const note = (message: string) => notes += `${placePrefix(place)} ${message}\n`;
  const loadFailure = await iso.ready;
  if (loadFailure) {
    // Reuse: the next job retries the import in a new host.
    const outcome = checkedOutcome(loadFailure);
    return {
      reply: { status: outcome.status, record: { ...outcome, place }, output: output() },
      retire: true,
    };
  }
  const report = await new Promise<JobReport>((resolve) => {
    iso.onMessage = (m) => {
      // Only bytes count as output.
      if (m.kind === "output") {
        // Kept here for the answer, and sent at once: a job killed at its
        // timeout (its host with it) still has what it printed.
        if (m.data instanceof Uint8Array) stream(out.push(m.data), out.dropped);
      } else if (m.kind === "outcome") resolve(m);
    };
    iso.port.postMessage({ kind: "job", hook: spec.hook, env });
  });
  // The one record (src/outcome/outcome_record.ts), in the reply's own field.
  const outcome = checkedOutcome(report);
  let retire = !!(report.nested || report.closed || report.uncaught);
  if (!retire && !(await answersPing(iso))) {
    retire = true;
    note("the hook left its isolate busy after it returned; its warm host is replaced");
  }
  iso.onMessage = undefined;
  return {
    reply: { status: outcome.status, record: { ...outcome, place }, output: output() },
    retire,
  };
}

function answersPing(iso: Isolate): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), IDLE_CHECK_MS);
    iso.onMessage = (m) => {
      if (m.kind === "pong") clearTimeout(timer), resolve(true);
    };
    iso.port.postMessage({ kind: "ping" });
  });
}

/**
 * The process environment for `run` children of the job: the job's (one job
 * at a time, so the process's own environment can be the job's).
 */
function useEnv(env: Record<string, string>, runtimeEnv: Record<string, string>): void {
  for (const k of Object.keys(Deno.env.toObject())) Deno.env.delete(k);
  for (const [k, v] of Object.entries({ ...env, ...runtimeEnv })) {
    if (k && !k.includes("=") && !k.includes("\0") && !v.includes("\0")) Deno.env.set(k, v);
  }
}

/**
 * Kills what the job left running: in a PID namespace of the sandbox's
 * own, every process but its init (pid 1) and this host; with the node's
 * processes in view, this host's descendants only.
 */
function endJobProcesses(ownPidNamespace: boolean): void {
  const parents = new Map<number, number>();
  for (const e of Deno.readDirSync("/proc")) {
    const pid = Number(e.name);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
      parents.set(pid, Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch { /* gone */ }
  }
  const mine = (pid: number): boolean => {
    for (let p = parents.get(pid); p !== undefined && p > 1; p = parents.get(p)) {
      if (p === Deno.pid) return true;
    }
    return false;
  };
  for (const pid of parents.keys()) {
    if (pid === 1 || pid === Deno.pid) continue;
    if (!ownPidNamespace && !mine(pid)) continue;
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* already gone */ }
  }
}

/** Empties the sandbox's private /tmp, so no file crosses fresh jobs (Deno's cache is elsewhere). */
function emptyTmp(): void {
  try {
    for (const e of Deno.readDirSync("/tmp")) {
      Deno.removeSync(`/tmp/${e.name}`, { recursive: true });
    }
  } catch (e) {
    console.error(`prep-deno warm host: cannot empty /tmp: ${e}`);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Where the host's view came from, for capability hints. */
function viewSource(spec: WarmHostSpec): ViewSource {
  return {
    configPath: spec.configPath,
    sandboxSet: spec.sandboxSet ?? spec.hook,
    capabilities: spec.capabilities ?? [],
  };
}
