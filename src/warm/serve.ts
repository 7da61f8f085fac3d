// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `prep-deno serve`: the warm service, one per daemon host, as root, outside
 * any sandbox and never importing a hook itself. It answers the plugin on a
 * root-only unix socket and hands each job to a warm host of its (module,
 * hook): a process inside the same bubblewrap view and with the same Deno
 * permissions the spawn path would give that hook, running one job at a
 * time (see pool.ts, host.ts).
 *
 * A SIGTERM stops taking hooks (the socket goes, the plugin runs new hooks
 * through the spawn path) and ends once the running ones have answered.
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
import { EXIT } from "../contract.ts";
import {
  HOOK_KINDS,
  type HookOutcome,
  type OutcomeKind,
  type OutcomePlace,
  placePrefix,
} from "../outcome/outcome_record.ts";
import { loadPolicy, PolicyError } from "../sandbox/policy.ts";
import { typeVerdictOnce } from "../launch/checked_plan.ts";
import { LaunchRefused } from "../launch/plan.ts";
import type { TypeVerdict } from "../launch/typecheck.ts";
import { moduleLinkLeavingRoot } from "../sandbox/module_link.ts";
import { HOOK_FOR_CONTEXT, isScriptContext } from "../job/slurm_vars.ts";
import type { HookName } from "../types.ts";
import { writeAll } from "../bytes.ts";
import { warmConfig } from "./config.ts";
import { type HostProcess, HostStartError, type JobResult } from "./host_process.ts";
import { Pool } from "./pool.ts";
import { treeRss, warmMetricsText, writeAtomically } from "./metrics.ts";
import {
  decodeReply,
  decodeRequest,
  encodeFrame,
  encodeReply,
  readFrame,
  replyPayload,
  type WarmRequest,
} from "./protocol.ts";
import { claimSocket } from "./socket.ts";

/** Where the plugin looks for the service unless PrEpParameters says otherwise. */
export { DEFAULT_SOCKET } from "../contract.ts";

/** The service's options. */
export interface ServeOptions {
  socketPath: string;
  /** The JavaScript heap limit of each warm host, in MiB. */
  heapMb?: number;
  /** The memory limit of each warm host (all its processes), in MiB. */
  memoryMb?: number;
  /** Most tasks (processes and threads) of each warm host at once. */
  tasksMax?: number;
  /** node_exporter's textfile for the warm hosts and their memory (src/warm/metrics.ts). */
  metricsPath?: string;
}

/** Verdicts whose warning ("typecheck": "warn") the service has logged: once per change. */
const warned = new WeakSet<TypeVerdict>();

/** Runs the service until it is killed (SIGTERM: cleanly, socket removed). */
export async function serve(opts: ServeOptions): Promise<number> {
  const socketPath = resolve(opts.socketPath);
  const listener = await claimSocket(socketPath);
  const hostsDir = Deno.makeTempDirSync({ dir: dirname(socketPath), prefix: "hosts-" });
  console.error(`prep-deno serve: listening on ${socketPath}`);

  const pools = new Map<string, { version: string; pool: Pool }>();
  const poolFor = (modulePath: string, hook: HookName, slurmConf?: string): Pool => {
    // Planned as the spawn path plans `run --slurm-conf`: the daemon's own
    // slurm.conf before the service's environment (`slurm: true` binds it).
    const env = Deno.env.toObject();
    const policy = loadPolicy(
      modulePath,
      hook,
      slurmConf ? { ...env, SLURM_CONF: slurmConf } : env,
    );
    const leaving = moduleLinkLeavingRoot(modulePath, policy.configPath);
    if (leaving) throw new PolicyError(leaving);
    const warm = warmConfig(policy.configPath);
    // The policy as resolved (grants, kernel view) and the module file: any
    // change means new hosts.
    const version = JSON.stringify([signature(modulePath), policy, warm]);
    // One pool per daemon's slurm.conf too: slurmctld's and slurmd's hosts
    // on one machine never share a view planned for the other's file.
    const key = `${modulePath}\0${hook}\0${slurmConf ?? ""}`;
    const known = pools.get(key);
    if (known?.version === version) return known.pool;
    known?.pool.drain(); // the module or its policy changed: a new wall
    const pool = new Pool({
      modulePath,
      hook,
      policy,
      warm,
      hostsDir,
      slurmConf,
      heapMb: opts.heapMb,
      memoryMb: opts.memoryMb,
      tasksMax: opts.tasksMax,
    });
    pools.set(key, { version, pool });
    return pool;
  };

  // The textfile: every 5 s and after a job (at most once a second).
  let lastMetrics = 0;
  const writeMetrics = () => {
    if (!opts.metricsPath || Date.now() - lastMetrics < 1000) return;
    lastMetrics = Date.now();
    const all = [...pools.values()].map(({ pool }) => pool);
    const rss = treeRss(all.flatMap((p) => [...p.hosts].map((h) => h.child.pid)));
    try {
      writeAtomically(
        opts.metricsPath,
        warmMetricsText(all.map((p) => ({
          hook: p.launch.hook,
          module: p.launch.modulePath,
          mode: p.launch.warm.mode,
          hosts: p.hosts.size,
          busy: [...p.hosts].filter((h) => h.busy).length,
          rssBytes: [...p.hosts].reduce((sum, h) => sum + (rss.get(h.child.pid) ?? 0), 0),
        }))),
      );
    } catch (e) {
      console.error(`prep-deno serve: cannot write ${opts.metricsPath}: ${e}`);
    }
  };
  if (opts.metricsPath) setInterval(writeMetrics, 5000);

  // A stop (systemctl stop/restart) takes no new hook (the plugin runs those
  // through the spawn path) and lets the running ones finish.
  let inflight = 0;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    listener.close();
    try {
      Deno.removeSync(socketPath);
    } catch { /* gone */ }
    console.error(`prep-deno serve: stopping; waiting for ${inflight} running hook(s)`);
    while (inflight > 0) await new Promise((r) => setTimeout(r, 50));
    const ended = Promise.all([...pools.values()].map(({ pool }) => pool.drain()));
    await Promise.race([ended, new Promise((r) => setTimeout(r, 5000))]);
    try {
      Deno.removeSync(hostsDir, { recursive: true });
    } catch { /* gone */ }
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);

  try {
    for await (const conn of listener) {
      inflight++;
      handle(conn, poolFor).finally(writeMetrics).catch((e) =>
        console.error(`prep-deno serve: ${e}`)
      )
        .finally(() => inflight--);
    }
  } catch (e) {
    if (!stopping) throw e;
  }
  await new Promise(() => {}); // stop() ends the process
  return 0;
}

/**
 * What the service answers one request with: its own outcome (a refusal, a
 * timeout, a lost host: src/outcome/outcome_record.ts, in the reply's record field,
 * where the hook's output cannot reach), a warm host's reply, or nothing, so
 * the plugin runs the hook through the spawn path.
 */
type Answer =
  | { kind: "own"; outcome: Omit<HookOutcome, "place">; output?: Uint8Array }
  | { kind: "host"; payload: Uint8Array }
  | { kind: "spawn"; why: string };

/** The service's own outcome. */
function own(
  kind: OutcomeKind,
  status: number,
  message: string,
  cause = message,
  output?: Uint8Array,
): Answer {
  return { kind: "own", outcome: { kind, status, message, cause }, output };
}

/**
 * One connection's writes, in order: the empty frame that says the hook
 * started, then at most one answer; nothing after the answer.
 */
class Replier {
  #written: Promise<void> = Promise.resolve();
  #answered = false;

  constructor(
    readonly conn: Deno.Conn,
    readonly place: OutcomePlace,
    readonly context: string,
  ) {}

  /** The hook started: from then on the plugin never runs it again. */
  started(): void {
    if (!this.#answered) this.#write(encodeFrame(new Uint8Array()));
  }

  /**
   * Sends `a` (the first answer only); settles once written, with what
   * ended the job in a few words, for the service's log line.
   */
  async answer(a: Answer): Promise<string> {
    if (this.#answered) return "";
    this.#answered = true;
    let ended: string;
    if (a.kind === "own") {
      const record = { ...a.outcome, place: this.place };
      this.#write(
        encodeReply({ status: record.status, record, output: a.output ?? new Uint8Array() }),
      );
      ended = `exit status ${record.status}: ${record.cause}`;
    } else if (a.kind === "host") {
      this.#write(encodeFrame(a.payload));
      const r = decodeReply(a.payload);
      ended = r?.status
        ? `exit status ${r.status}: ${r.record.cause ?? r.record.kind}`
        : "exit status 0";
    } else {
      ended = `${a.why}; left to the spawn path`;
    }
    await this.#written;
    return ended;
  }

  /** Settles once everything written so far is. */
  get done(): Promise<void> {
    return this.#written;
  }

  #write(bytes: Uint8Array): void {
    this.#written = this.#written.then(() => writeAll(this.conn, bytes)).catch(() => {});
  }
}

async function handle(
  conn: Deno.Conn,
  poolFor: (m: string, h: HookName, slurmConf?: string) => Pool,
) {
  let replier: Replier | undefined;
  // The one line per job this service logs: what ended it, and how long.
  const began = performance.now();
  let ended = "";
  try {
    const payload = await readFrame(conn);
    if (!payload) return;
    const req = decodeRequest(payload);
    replier = new Replier(conn, {
      hook: isScriptContext(req.context) ? HOOK_FOR_CONTEXT[req.context] : req.context,
      module: req.modulePath,
      job: req.env.SLURM_JOB_ID ?? "?",
    }, req.context);
    const admitted = await admit(req, replier.place, poolFor);
    ended = await replier.answer(
      "pool" in admitted ? await runJob(req, payload, admitted.pool, replier) : admitted,
    );
  } finally {
    await replier?.done;
    if (replier) {
      const { place, context } = replier;
      console.error(
        `prep-deno serve: ${context} ${place.module} job ${place.job}: ${ended || "no answer"} in ${
          Math.round(performance.now() - began)
        } ms`,
      );
    }
    conn.close();
  }
}

/** The pool that runs the request, or the answer that it is not run here. */
async function admit(
  req: WarmRequest,
  place: OutcomePlace,
  poolFor: (m: string, h: HookName, slurmConf?: string) => Pool,
): Promise<{ pool: Pool } | Answer> {
  if (!isScriptContext(req.context)) {
    return own("refused", EXIT.USAGE, `bad context "${req.context}"`);
  }
  const hook = HOOK_FOR_CONTEXT[req.context];
  try {
    if (!Deno.statSync(req.modulePath).isFile) throw new Error();
  } catch {
    return own("refused", EXIT.NOT_FOUND, "the module does not exist or cannot be read");
  }
  let pool: Pool;
  try {
    pool = poolFor(req.modulePath, hook, req.slurmConf);
    // Type-checked as the spawn path checks it, once per change.
    const types = await typeVerdictOnce(
      req.modulePath,
      hook,
      pool.launch.policy,
      req.slurmConf,
    );
    if (types.refusal) {
      return own("refused", EXIT.SANDBOX, types.refusal.message, types.refusal.cause);
    }
    if (types.warning && !warned.has(types)) {
      warned.add(types);
      console.error(`${placePrefix(place)} ${types.warning}`);
    }
  } catch (e) {
    if (e instanceof PolicyError) return own("refused", EXIT.SANDBOX, e.message);
    if (e instanceof LaunchRefused) return own("refused", e.status, e.message, e.shortCause);
    throw e;
  }
  // Only the spawn path's launcher starts a privileged-command broker.
  if (pool.launch.policy.view.privileged?.length) {
    return { kind: "spawn", why: "its policy names privileged commands" };
  }
  return { pool };
}

/**
 * Runs the request on a host of `pool`: its timeout runs from now, the
 * wait in line included; at it the host (every process of the hook) is
 * killed, or the place in line given up.
 */
async function runJob(
  req: WarmRequest,
  payload: Uint8Array,
  pool: Pool,
  replier: Replier,
): Promise<Answer> {
  const seconds = req.timeoutSeconds;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<"timeout">((resolve) => {
    if (seconds) timer = setTimeout(() => resolve("timeout"), seconds * 1000);
  });
  const ticket = pool.acquire();
  let host: HostProcess | undefined;
  try {
    const got = await Promise.race([
      ticket.host.then((h) => ({ host: h }), (e: unknown) => ({ error: e })),
      deadline,
    ]);
    if (got === "timeout") {
      ticket.cancel();
      // A host handed over just as the timeout came goes back at once.
      ticket.host.then((h) => pool.release(h), () => {});
      return own(
        "timeout",
        EXIT.TIMEOUT,
        `timed out after ${seconds} s waiting for a free warm host (all ${pool.launch.warm.hosts} busy, see "warm.hosts" in the policy); the hook never started`,
        `timed out after ${seconds} s waiting for a free warm host`,
      );
    }
    if ("error" in got) {
      if (got.error instanceof HostStartError) {
        return own("refused", got.error.status, got.error.message);
      }
      throw got.error;
    }
    host = got.host;
    const result = await Promise.race([host.run(payload, () => replier.started()), deadline]);
    if (result === "timeout") {
      host.kill();
      return own(
        "timeout",
        EXIT.TIMEOUT,
        `timed out after ${seconds} s; the hook was killed with its warm host process (every process of the hook; no other job was running there)`,
        `timed out after ${seconds} s`,
        host.streamedOutput(), // what it printed before: as the spawn path keeps it
      );
    }
    return answerOf(result, replier.place);
  } finally {
    clearTimeout(timer);
    const h = host;
    if (h) h.ready.then(() => pool.release(h));
  }
}

/** The answer for how a job on a host ended. */
function answerOf(result: JobResult, place: OutcomePlace): Answer {
  if (result.kind === "reply") {
    return { kind: "host", payload: checkedReply(result.payload, place) };
  }
  // The hook did not start: no answer, and the plugin runs it through the spawn path.
  if (result.kind === "not-started") return { kind: "spawn", why: result.why };
  if (result.outOfMemory) {
    return own(
      result.limit ?? "memory",
      EXIT.OUT_OF_MEMORY,
      `${result.outOfMemory}; its warm host process was killed, and the hook not run again`,
      result.cause ?? result.outOfMemory,
      result.output,
    );
  }
  return own(
    "lost",
    EXIT.FAILED,
    `the warm host process ended during the hook (${result.why}); the hook had started and was not run again`,
    `the warm host process ended during the hook (${result.why})`,
    result.output,
  );
}

/**
 * A warm host's reply as the plugin gets it: the record's kind must be one
 * the hook call makes and its status the reply's, and the place is the
 * service's own; anything else is the service's "lost".
 */
function checkedReply(payload: Uint8Array, place: OutcomePlace): Uint8Array {
  const r = decodeReply(payload);
  if (
    r && (HOOK_KINDS as readonly string[]).includes(r.record.kind) && r.status === r.record.status
  ) {
    return replyPayload({ ...r, record: { ...r.record, place } });
  }
  const message = "the warm host's reply was malformed; the hook had started and was not run again";
  return replyPayload({
    status: EXIT.FAILED,
    record: { kind: "lost", status: EXIT.FAILED, message, cause: message, place },
    output: new Uint8Array(),
  });
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
