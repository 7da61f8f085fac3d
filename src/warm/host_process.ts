// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The service's side of one warm host process: starts it in the hook's
 * kernel sandbox with a clean environment, takes its one connection, hands
 * it one job at a time, and kills it (its whole sandbox: every process of
 * the hook with it) when a job times out.
 *
 * Host to service, per job: a frame `A` as soon as the host has read the
 * request (from then on the hook may have started: never run it again),
 * frames of `O` followed by the hook's output as it comes (kept here, capped:
 * a job killed at its timeout, or whose host died, still has what it printed),
 * then a frame of `K` (keep me) or `R` (I retire) followed by the reply,
 * then (when kept) a frame `r` once it can take the next job.
 *
 * @module
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { hookSandbox, type LaunchPlan, LaunchRefused, planHook, spawnPlan } from "../launch/mod.ts";
import type { Permissions, Policy } from "../sandbox/policy.ts";
import { selfCommand } from "../self_command.ts";
import { importMapUrl } from "../sandbox/import_map.ts";
import type { KernelView } from "../sandbox/view.ts";
import type { HookName } from "../types.ts";
import { writeAll } from "../bytes.ts";
import { EXIT, MAX_OUTPUT, WARM_HOST_FRAMES } from "../contract.ts";
import { CappedOutput } from "../launch/output.ts";
import { escapeField, parseOutcome } from "../outcome/outcome_record.ts";
import type { WarmConfig } from "./config.ts";
import type { WarmHostSpec } from "./host.ts";
import { encodeFrame, readFrame } from "./protocol.ts";
import { cgroupPids, hostCgroups, killJobProcesses } from "./job_cgroup.ts";

const ACK = WARM_HOST_FRAMES.ACK.charCodeAt(0);
const OUTPUT = WARM_HOST_FRAMES.OUTPUT.charCodeAt(0);
const DROPPED = WARM_HOST_FRAMES.DROPPED.charCodeAt(0);
const ANSWERS = [WARM_HOST_FRAMES.KEEP.charCodeAt(0), WARM_HOST_FRAMES.RETIRE.charCodeAt(0)];

/** How long a warm host may take to start and connect. */
const START_TIMEOUT_MS = 20_000;

/** What a host needs to start. */
export interface HostLaunch {
  modulePath: string;
  hook: HookName;
  policy: Policy;
  warm: WarmConfig;
  /** Folder of the service's own under which each host gets one. */
  hostsDir: string;
  /** The daemon's own slurm.conf (the request's), planned with as `run --slurm-conf`. */
  slurmConf?: string;
  heapMb?: number;
  /** The whole host's memory limit in MiB (its memory cgroup). */
  memoryMb?: number;
  /** Most tasks (processes and threads) of each warm host at once. */
  tasksMax?: number;
}

/** How a job handed to a host ended. */
export type JobResult =
  /** The host never read the request: the hook did not start. */
  | { kind: "not-started"; why: string }
  /** The host read the request and ended before replying. */
  | {
    kind: "died";
    why: string;
    /** What the hook printed before its host died. */
    output: Uint8Array;
    outOfMemory?: string;
    /** Which limit the launcher's record names: memory (heap or whole host) or tasks. */
    limit?: "memory" | "tasks";
    cause?: string;
  }
  /** The reply payload, as the plugin reads it. */
  | { kind: "reply"; payload: Uint8Array };

/** A host could not start; the message says why, `status` is the job's. */
export class HostStartError extends Error {
  override name = "HostStartError";
  constructor(message: string, readonly status: number = EXIT.SANDBOX) {
    super(message);
  }
}

let counter = 0;

/** `permissions`, with read access to SLURM_CONF added when the view has `slurm: true`. */
function withSlurmConf(permissions: Permissions, policy: Policy): Permissions {
  const env = permissions.env;
  if (!policy.view.slurm || env === true) return permissions;
  return { ...permissions, env: [...(env ?? []), "SLURM_CONF"] };
}

/** One warm host process. */
export class HostProcess {
  busy = false;
  dead = false;
  /** Whether the host said it retires after its current job. */
  retiring = false;
  /** Settles when the host can take its next job. */
  ready: Promise<void> = Promise.resolve();
  /** The host's cgroups (the launcher's, one per hierarchy); empty without any. */
  #cgroups: string[];
  /** The host's own processes in them, before any job: never a job's. */
  #own: Set<number>;
  /** The running job's output as the host streamed it (`O` frames). */
  #streamed = new CappedOutput(MAX_OUTPUT - 4096);

  private constructor(
    readonly label: string,
    readonly child: Deno.ChildProcess,
    readonly conn: Deno.UnixConn,
    readonly exited: Promise<Deno.CommandStatus>,
    readonly record: Promise<string>,
    voice: { on: boolean },
  ) {
    this.exited.then(() => this.dead = true);
    this.#voice = voice;
    // Connected, no job yet: what is in the host's cgroups now is the host.
    this.#cgroups = hostCgroups(child.pid);
    this.#own = cgroupPids(this.#cgroups);
  }
  #voice: { on: boolean };

  /** Starts a host through the one sandboxed launch and waits for its connection. */
  static async start(l: HostLaunch): Promise<HostProcess> {
    const dir = join(l.hostsDir, String(++counter));
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const socketPath = join(dir, "host.sock");
    // The hook's imports ("prep-deno", the policy's) for the module its Workers load.
    const self = selfCommand(importMapUrl(l.policy.configPath), hostProgram());
    let plan: LaunchPlan;
    try {
      // The one sandboxed launch: the hook's own view and policy, with this
      // host as the program and its folder (for the socket) writable.
      plan = planHook(
        l.modulePath,
        l.hook,
        {
          runtimePaths: [...self.runtimePaths, ...bundled(WORKER_BUNDLE)],
          runtimeWritable: [dir],
          command: (_deno, _flags, policy) => {
            const spec: WarmHostSpec = {
              modulePath: l.modulePath,
              hook: l.hook,
              // The host runs with every permission; its Worker gets the
              // policy's, and with `slurm: true` SLURM_CONF as the spawn path
              // grants it (the helpers hand it to Slurm's commands).
              permissions: withSlurmConf(hookSandbox(l.modulePath, policy).permissions, policy),
              configPath: policy.configPath,
              setName: policy.setName,
              sandboxSet: policy.view.setName ?? l.hook,
              capabilities: [...policy.view.capabilities],
              socketPath,
              mode: l.warm.mode,
              ownPidNamespace: !policy.view.hostProcesses,
              privateTmp: tmpIsPrivate(policy.view),
              workerEntry: (existsSync(WORKER_BUNDLE) ? WORKER_BUNDLE : WORKER_SOURCE).href,
            };
            // "__warmhost" either way: `ps` (and the tests) tell a host by it.
            return [...self.argv, "__warmhost", JSON.stringify(spec)];
          },
        },
        undefined,
        l.slurmConf,
      );
    } catch (e) {
      if (e instanceof LaunchRefused) throw new HostStartError(e.message, e.status);
      throw e;
    }
    const listener = Deno.listen({ transport: "unix", path: socketPath });
    const child = spawnPlan(plan, {
      hook: l.hook,
      modulePath: l.modulePath,
      // Not the service's environment: only what the runtime needs (set by bwrap).
      env: {},
      heapMb: l.heapMb,
      memoryMb: l.memoryMb,
      tasksMax: l.tasksMax,
      noStatus: true,
      // The launcher's outcome record (a memory limit, say) on its stdout,
      // which no process of the hook holds: the hook's output never names it.
      outcomeFd: 1,
      stdout: "piped",
      stderr: "piped",
    });
    const recordDone = new Response(child.stdout).text().catch(() => "");
    const label = `${l.hook} ${l.modulePath} (${l.warm.mode})`;
    // Silenced once the service itself ends the host (an idle host
    // retired, a pool drained, a timeout): the launcher's "killed" words
    // (with no job: the host's launcher never knows one) would describe
    // the service's own act; its line for the job says what happened.
    const voice = { on: true };
    let tail = "";
    const stderrDone = (async () => {
      const dec = new TextDecoder();
      for await (const chunk of child.stderr) {
        const text = dec.decode(chunk, { stream: true });
        tail = (tail + text).slice(-8192);
        for (const line of text.split("\n")) {
          if (line && voice.on) {
            console.error(`prep-deno serve: warm host ${label}: ${escapeField(line)}`);
          }
        }
      }
    })().catch(() => {});
    const exited = child.status;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const conn = await Promise.race([
        listener.accept() as Promise<Deno.UnixConn>,
        exited.then((s) => {
          throw new HostStartError(
            `the warm host could not start (${describe(s)}): ${tail.trim() || "no message"}`,
          );
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new HostStartError(`the warm host did not start within 20 s`)),
            START_TIMEOUT_MS,
          );
        }),
      ]);
      return new HostProcess(
        label,
        child,
        conn,
        exited.then(async (s) => {
          await stderrDone;
          return s;
        }),
        recordDone,
        voice,
      );
    } catch (e) {
      kill(child);
      throw e;
    } finally {
      clearTimeout(timer);
      listener.close();
      // Nothing started later in the sandbox can connect in the host's place.
      try {
        Deno.removeSync(socketPath);
      } catch { /* closing the listener removed it */ }
    }
  }

  /**
   * Runs one job (the plugin's request payload) on this host; `onStarted`
   * is called once the host has the job (the hook may run from then on).
   */
  async run(payload: Uint8Array, onStarted: () => void): Promise<JobResult> {
    // Never the last job's output, even for a timeout before the host took this one.
    this.#streamed = new CappedOutput(MAX_OUTPUT - 4096);
    try {
      await writeAll(this.conn, encodeFrame(payload));
    } catch (e) {
      return { kind: "not-started", why: `cannot send the job to the warm host: ${e}` };
    }
    const next = () =>
      Promise.race([
        readFrame(this.conn).catch(() => undefined),
        this.exited.then(() => undefined),
      ]);
    const ack = await next();
    if (!ack) return { kind: "not-started", why: "the warm host ended before it took the job" };
    if (ack[0] !== ACK) {
      // Only a hook that took over its host (ffi, all) writes other frames.
      this.kill();
      return this.#broke("its first frame was not the acknowledgement");
    }
    onStarted();
    let answer = await next();
    while (answer && (answer[0] === OUTPUT || answer[0] === DROPPED)) {
      if (answer[0] === OUTPUT) this.#streamed.push(answer.subarray(1));
      else this.#streamed.droppedAtLeast(droppedCount(answer.subarray(1)));
      answer = await next();
    }
    if (!answer || answer.length < 1) {
      // The launcher says why the host ended (a memory limit, say) once its
      // sandbox is gone: give it a moment before stopping it.
      const grace = setTimeout(() => kill(this.child), 2000);
      const status = await this.exited;
      clearTimeout(grace);
      // The launcher's record names a memory, heap or process limit hit (125): its
      // message and cause are what the reply passes on.
      const record = parseOutcome(await this.record);
      return {
        kind: "died",
        why: describe(status),
        output: this.#streamed.bytes(),
        outOfMemory: record?.kind === "memory" || record?.kind === "tasks"
          ? (record.message ?? "out of memory: the warm host passed its limit")
          : undefined,
        limit: record?.kind === "tasks" ? "tasks" : "memory",
        cause: record?.cause,
      };
    }
    if (!ANSWERS.includes(answer[0])) {
      this.kill();
      return this.#broke("it answered with a frame of another kind");
    }
    // Every process the job started ends with it, before its answer: those
    // of the host's cgroups that are not the host (job_cgroup.ts).
    await killJobProcesses(this.#cgroups, this.#own);
    this.retiring = answer[0] === WARM_HOST_FRAMES.RETIRE.charCodeAt(0);
    // Then READY: the host is ready for its next job (a fresh isolate waits).
    this.ready = this.retiring ? Promise.resolve() : next().then(() => {});
    return { kind: "reply", payload: answer.subarray(1) };
  }

  /** A job whose host broke the frame protocol (killed): failed, never run again. */
  #broke(why: string): JobResult {
    return {
      kind: "died",
      why: `the warm host broke the protocol: ${why}`,
      output: this.#streamed.bytes(),
    };
  }

  /** What the running job has printed so far (for an answer the service makes itself). */
  streamedOutput(): Uint8Array {
    return this.#streamed.bytes();
  }

  /** Kills the host and its whole sandbox, quietly (the service's own act). */
  kill(): void {
    this.#voice.on = false;
    this.dead = true;
    kill(this.child);
    try {
      this.conn.close();
    } catch { /* closed */ }
  }
}

/** A `D` frame's count (decimal); anything else counts as none. */
function droppedCount(body: Uint8Array): number {
  const text = new TextDecoder().decode(body);
  return /^\d{1,15}$/.test(text) ? Number(text) : 0;
}

/**
 * Whether the sandbox's /tmp is its own tmpfs: no grant binds the host's
 * /tmp, a part of it or a folder above it into the view (files there are
 * the admin's grant, shared by spawned hooks too).
 */
function tmpIsPrivate(v: KernelView): boolean {
  return ![...v.read, ...v.write].some((g) =>
    g.real === "/" || g.real === "/tmp" || g.real.startsWith("/tmp/")
  );
}

function kill(child: Deno.ChildProcess): void {
  try {
    // The launcher kills every process of the host's cgroup, then ends.
    child.kill("SIGTERM");
  } catch { /* already gone */ }
}

function describe(s: Deno.CommandStatus): string {
  return s.signal ? `killed by ${s.signal}` : `exit status ${s.code}`;
}

/**
 * The Worker's program: the bundle scripts/build.ts makes (one file loads
 * faster, and a fresh job makes one Worker), else the module itself.
 */
const WORKER_BUNDLE = new URL("../../build/job_worker.js", import.meta.url);
const WORKER_SOURCE = new URL("./job_worker.ts", import.meta.url);
/** The host's program, bundled (src/warm/host_main.ts); without a build, `main.ts __warmhost`. */
const HOST_BUNDLE = new URL("../../build/warm_host.js", import.meta.url);

/** The bundled host program's path, when the build made one. */
function hostProgram(): string | undefined {
  return existsSync(HOST_BUNDLE) ? fileURLToPath(HOST_BUNDLE) : undefined;
}

/** `url`'s path when the build made that file (bound into the view), else nothing. */
function bundled(url: URL): string[] {
  return existsSync(url) ? [fileURLToPath(url)] : [];
}
