// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Deno binding of `build/prep_deno.so`: the PrEp plugin ABI, the plain C
 * core behind it, and the constructors that let the slurmd side run outside
 * slurmd. `Deno.dlopen` is all it takes (see the README): no addon.
 *
 * @example
 * ```ts
 * import { PrepPlugin } from "./mod.ts";
 * await using plugin = PrepPlugin.open("build/prep_deno.so");
 * const out = await plugin.runHooksAsync({ runner: "build/prep-deno", timeoutSeconds: 5 },
 *   ["/etc/slurm/hooks/site.ts"], { SLURM_SCRIPT_CONTEXT: "prolog_slurmctld", SLURM_JOB_ID: "1" }, 1);
 * out.status; // wait(2) status, as slurmctld's callback gets it
 * ```
 *
 * @module
 */

const SYMBOLS = {
  init: { parameters: [], result: "i32" },
  fini: { parameters: [], result: "void", nonblocking: true },
  prep_p_register_callbacks: { parameters: ["buffer"], result: "void" },
  prep_p_prolog: { parameters: ["pointer", "pointer"], result: "i32", nonblocking: true },
  prep_p_epilog: { parameters: ["pointer", "pointer"], result: "i32", nonblocking: true },
  prep_p_prolog_slurmctld: { parameters: ["pointer", "buffer"], result: "i32" },
  prep_p_epilog_slurmctld: { parameters: ["pointer", "buffer"], result: "i32" },
  prep_p_required: { parameters: ["i32", "buffer"], result: "void" },
  pdc_is_module: { parameters: ["buffer"], result: "i32" },
  pdc_hook_argv: { parameters: ["buffer", "buffer"], result: "pointer" },
  pdc_free_argv: { parameters: ["pointer"], result: "void" },
  pdc_slurmd_env: { parameters: ["buffer"], result: "pointer" },
  pdc_run_hooks: {
    parameters: ["buffer", "buffer", "usize", "buffer", "pointer", "pointer", "buffer"],
    result: "i32",
    nonblocking: true,
  },
  pdc_run_hooks_async: {
    parameters: ["buffer", "buffer", "usize", "buffer", "u32", "function", "pointer"],
    result: "i32",
  },
  pdc_outcome_free: { parameters: ["buffer"], result: "void" },
  pdc_inflight: { parameters: [], result: "i32" },
  pdc_shutdown: { parameters: ["i32"], result: "i32", nonblocking: true },
  prep_deno_ffi_load_conf: { parameters: ["buffer"], result: "i32" },
  prep_deno_ffi_slurmd_conf: { parameters: ["buffer", "buffer"], result: "i32" },
  prep_deno_ffi_job_env: {
    parameters: [
      "u32",
      "u32",
      "u32",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "u32",
      "u32",
      "buffer",
    ],
    result: "pointer",
  },
  prep_deno_ffi_job_env_free: { parameters: ["pointer"], result: "void" },
  prep_deno_ffi_run_command: {
    parameters: ["buffer", "buffer", "i32"],
    result: "i32",
    nonblocking: true,
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** `prep_call_type_t`: which hook `required()` is asked about. */
export enum PrepCallType {
  RegisterCallbacks = 0,
  Prolog = 1,
  Epilog = 2,
  PrologSlurmctld = 3,
  EpilogSlurmctld = 4,
}

/** How the core runs hooks (`pdc_config_t`). */
export interface CoreConfig {
  /** The prep-deno runner for .ts/.mts/.js hooks. */
  runner: string;
  /** PrologEpilogTimeout; undefined: none. */
  timeoutSeconds?: number;
  /** Heap limit passed to the runner; undefined: its default. */
  heapMb?: number;
  /** mode=warm: the warm service's socket; undefined: spawn path. */
  warmSocket?: string;
}

/** How a hook list ended (`pdc_outcome_t`), decoded. */
export interface Outcome {
  /** The raw wait(2) status, or 127 when a hook could not be run. */
  status: number;
  /** Exit code when the hook exited. */
  exitCode?: number;
  /** Signal when the hook was killed. */
  signal?: number;
  /** Killed at the timeout, or the runner's own timeout (124). */
  timedOut: boolean;
  /** stdout and stderr of the last hook run. */
  output: string;
  /** The hook that failed. */
  failedPath?: string;
  /** Why the warm service was passed over for the spawn path, if it was. */
  fallback?: string;
}

/** The job data the slurmd side turns into Prolog/Epilog's environment. */
export interface SlurmdJob {
  spankEnv?: string[];
  gresEnv?: string[];
  nodeName: string;
  confFile: string;
  clusterName: string;
  jobId: string;
  uid: string;
  gid: string;
  workDir: string;
  userName?: string;
  hetJobId?: string;
  nodeAliases?: string;
  nodeList?: string;
  jobNodelist?: string;
  partition?: string;
  context: "prolog_slurmd" | "epilog_slurmd";
  exitCode?: string;
  derivedEc?: string;
  /** Credential fields, by the variable they set. */
  cred?: Partial<Record<CredVar, string>>;
  lateUserName?: string;
}

/** Credential variables, in the core's order (`PDC_CRED_*`). */
export const CRED_VARS = [
  "SLURM_JOB_ACCOUNT",
  "SLURM_JOB_COMMENT",
  "SLURM_JOB_CORE_SPEC_COUNT",
  "SLURM_JOB_CORE_SPEC_TYPE",
  "SLURM_JOB_CONSTRAINTS",
  "SLURM_JOB_END_TIME",
  "SLURM_JOB_EXTRA",
  "SLURM_JOB_CPUS_PER_NODE",
  "SLURM_JOB_LICENSES",
  "SLURM_JOB_NTASKS",
  "SLURM_JOB_NUM_NODES",
  "SLURM_JOB_OVERSUBSCRIBE",
  "SLURM_JOB_PARTITION",
  "SLURM_JOB_RESERVATION",
  "SLURM_JOB_RESTART_COUNT",
  "SLURM_JOB_START_TIME",
  "SLURM_JOB_STDERR",
  "SLURM_JOB_STDIN",
  "SLURM_JOB_STDOUT",
] as const;
/** One credential variable. */
export type CredVar = typeof CRED_VARS[number];

/** A job_env_t made for the plugin's Slurm version. */
export interface JobEnvInput {
  jobId: number;
  uid: number;
  gid: number;
  userName: string;
  workDir: string;
  nodeList: string;
  partition: string;
  /** Epilogs: raw wait status of the job; undefined: not an epilog (INFINITE). */
  exitCode?: number;
  derivedEc?: number;
  /** `K=V` entries of the job's GRES list (merged before Slurm's own). */
  gresEnv?: string[];
}

/** Callbacks slurmctld registers for its asynchronous hooks. */
export interface SlurmctldCallbacks {
  prologSlurmctld?: (rc: number, jobId: number, timedOut: boolean) => void;
  epilogSlurmctld?: (rc: number, jobId: number, timedOut: boolean) => void;
}

const encoder = new TextEncoder();
const INFINITE = 0xffffffff;

/** Keeps the buffers behind C strings and arrays alive while C uses them. */
class Arena {
  #keep: ArrayBufferView[] = [];
  str(s: string | undefined): Uint8Array<ArrayBuffer> | null {
    if (s === undefined) return null;
    const b = encoder.encode(s + "\0") as Uint8Array<ArrayBuffer>;
    this.#keep.push(b);
    return b;
  }
  ptr(s: string | undefined): bigint {
    const b = this.str(s);
    return b ? BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(b))) : 0n;
  }
  /** A NULL-terminated char* array. */
  strv(list: string[] | undefined): BigUint64Array<ArrayBuffer> | null {
    if (!list) return null;
    const v = new BigUint64Array(list.length + 1);
    list.forEach((s, i) => v[i] = this.ptr(s));
    this.#keep.push(v);
    return v;
  }
  strvPtr(list: string[] | undefined): bigint {
    const v = this.strv(list);
    return v ? BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(v))) : 0n;
  }
  config(c: CoreConfig): Uint8Array<ArrayBuffer> {
    const b = new ArrayBuffer(24);
    const dv = new DataView(b);
    dv.setBigUint64(0, this.ptr(c.runner), true);
    dv.setInt32(8, c.timeoutSeconds ?? -1, true);
    dv.setInt32(12, c.heapMb ?? 0, true);
    dv.setBigUint64(16, this.ptr(c.warmSocket), true);
    const u = new Uint8Array(b);
    this.#keep.push(u);
    return u;
  }
}

/** Reads a NULL-terminated char* array. */
function readStrv(p: Deno.PointerValue): string[] {
  if (!p) return [];
  const view = new Deno.UnsafePointerView(p);
  const out: string[] = [];
  for (let i = 0;; i++) {
    const s = view.getPointer(i * 8);
    if (!s) return out;
    out.push(Deno.UnsafePointerView.getCString(s));
  }
}

/** Decodes a `pdc_outcome_t`. */
function readOutcome(p: Deno.PointerObject): Outcome {
  const v = new Deno.UnsafePointerView(p);
  const status = v.getInt32(0);
  const out = v.getPointer(8);
  const failed = v.getPointer(16);
  const fallback = v.getPointer(24);
  const low = status & 0x7f;
  return {
    status,
    exitCode: low === 0 ? (status >> 8) & 0xff : undefined,
    signal: low !== 0 && low !== 0x7f ? low : undefined,
    timedOut: v.getInt32(4) !== 0,
    output: out ? Deno.UnsafePointerView.getCString(out) : "",
    failedPath: failed ? Deno.UnsafePointerView.getCString(failed) : undefined,
    fallback: fallback ? Deno.UnsafePointerView.getCString(fallback) : undefined,
  };
}

/** The loaded plugin. Close it (or `using` it) when done. */
export class PrepPlugin {
  readonly #lib: Deno.DynamicLibrary<typeof SYMBOLS>;
  readonly #asyncDone: Deno.UnsafeCallback<{
    parameters: ["pointer", "u32", "pointer"];
    result: "void";
  }>;
  readonly #pending = new Map<number, (o: Outcome) => void>();
  #nextCall = 1;
  #ctldCallbacks: { close(): void }[] = [];
  /** Completion calls that arrived for a call already completed: must stay 0. */
  duplicateCallbacks = 0;

  private constructor(path: string) {
    this.#lib = Deno.dlopen(path, SYMBOLS);
    // Called on the core's threads; Deno runs it on this isolate.
    this.#asyncDone = Deno.UnsafeCallback.threadSafe(
      { parameters: ["pointer", "u32", "pointer"], result: "void" } as const,
      (arg, _jobId, outcome) => {
        const id = Number(Deno.UnsafePointer.value(arg));
        const resolve = this.#pending.get(id);
        if (!resolve || !outcome) {
          this.duplicateCallbacks++;
          return;
        }
        this.#pending.delete(id);
        resolve(readOutcome(outcome));
      },
    );
    this.#asyncDone.unref();
  }

  /** Loads the plugin; libslurmfull comes along through its rpath. */
  static open(path: string): PrepPlugin {
    return new PrepPlugin(path);
  }

  // The PrEp ABI.

  /** `init()`: parses PrEpParameters, logs the runner and hooks. */
  init(): number {
    return this.#lib.symbols.init();
  }
  /** `fini()`: stops running slurmctld hooks and waits for their threads. */
  async fini(): Promise<void> {
    await this.#lib.symbols.fini();
  }
  /** `prep_p_register_callbacks()`, with thread-safe JS callbacks. */
  registerCallbacks(cb: SlurmctldCallbacks): void {
    const def = { parameters: ["i32", "u32", "bool"], result: "void" } as const;
    const make = (fn?: (rc: number, id: number, t: boolean) => void) => {
      if (!fn) return 0n;
      const c = Deno.UnsafeCallback.threadSafe(def, fn);
      c.unref();
      this.#ctldCallbacks.push(c);
      return BigInt(Deno.UnsafePointer.value(c.pointer));
    };
    const table = new BigUint64Array([make(cb.prologSlurmctld), make(cb.epilogSlurmctld)]);
    this.#lib.symbols.prep_p_register_callbacks(new Uint8Array(table.buffer));
  }
  /** `prep_p_prolog()`: the slurmd side, for a job_env_t from {@linkcode jobEnv}. */
  prolog(jobEnv: Deno.PointerValue, cred: Deno.PointerValue = null): Promise<number> {
    return this.#lib.symbols.prep_p_prolog(jobEnv, cred);
  }
  /** `prep_p_epilog()`. */
  epilog(jobEnv: Deno.PointerValue, cred: Deno.PointerValue = null): Promise<number> {
    return this.#lib.symbols.prep_p_epilog(jobEnv, cred);
  }
  /** `prep_p_prolog_slurmctld()`: needs a job_record_t, so only inside slurmctld. */
  prologSlurmctld(job: Deno.PointerValue): { rc: number; async: boolean } {
    const flag = new Uint8Array(1);
    return { rc: this.#lib.symbols.prep_p_prolog_slurmctld(job, flag), async: flag[0] !== 0 };
  }
  /** `prep_p_epilog_slurmctld()`: only inside slurmctld. */
  epilogSlurmctld(job: Deno.PointerValue): { rc: number; async: boolean } {
    const flag = new Uint8Array(1);
    return { rc: this.#lib.symbols.prep_p_epilog_slurmctld(job, flag), async: flag[0] !== 0 };
  }
  /** `prep_p_required()`. */
  required(type: PrepCallType): boolean {
    const flag = new Uint8Array(1);
    this.#lib.symbols.prep_p_required(type, flag);
    return flag[0] !== 0;
  }

  // Inputs that only daemons have.

  /** Loads a slurm.conf into libslurmfull (Prolog=, PrEpParameters=, ...). */
  loadConf(path: string): void {
    const a = new Arena();
    if (this.#lib.symbols.prep_deno_ffi_load_conf(a.str(path)) !== 0) {
      throw new Error(`cannot load ${path} as slurm.conf`);
    }
  }
  /** Sets slurmd's node name and config path for the slurmd side. */
  slurmdConf(nodeName: string, confFile: string): void {
    const a = new Arena();
    if (this.#lib.symbols.prep_deno_ffi_slurmd_conf(a.str(nodeName), a.str(confFile)) !== 0) {
      throw new Error("cannot set slurmd's conf (inside a daemon?)");
    }
  }
  /** A job_env_t in the layout of the plugin's Slurm version; dispose to free it. */
  jobEnv(j: JobEnvInput): { pointer: Deno.PointerObject } & Disposable {
    const a = new Arena();
    const p = this.#lib.symbols.prep_deno_ffi_job_env(
      j.jobId,
      j.uid,
      j.gid,
      a.str(j.userName),
      a.str(j.workDir),
      a.str(j.nodeList),
      a.str(j.partition),
      j.exitCode ?? INFINITE,
      j.derivedEc ?? 0,
      a.strv(j.gresEnv),
    );
    if (!p) throw new Error("job_env_t allocation failed");
    const lib = this.#lib;
    return { pointer: p, [Symbol.dispose]: () => lib.symbols.prep_deno_ffi_job_env_free(p) };
  }

  /**
   * Runs a script through Slurm's own `run_command()`, as prep/script runs
   * a Prolog: the baseline prep/deno is measured against. Wait status.
   */
  runCommandAsPrepScript(
    path: string,
    env: Record<string, string>,
    timeoutMs = -1,
  ): Promise<number> {
    const a = new Arena();
    return this.#lib.symbols.prep_deno_ffi_run_command(
      a.str(path),
      a.strv(envList(env)),
      timeoutMs,
    );
  }

  // The core.

  /** Whether `path` runs through the runner. */
  isModule(path: string): boolean {
    return this.#lib.symbols.pdc_is_module(new Arena().str(path)) !== 0;
  }
  /** The argv the core executes for one hook. */
  hookArgv(cfg: CoreConfig, path: string): string[] {
    const a = new Arena();
    const p = this.#lib.symbols.pdc_hook_argv(a.config(cfg), a.str(path));
    try {
      return readStrv(p);
    } finally {
      this.#lib.symbols.pdc_free_argv(p);
    }
  }
  /** The environment the slurmd side builds for `job`. */
  slurmdEnv(job: SlurmdJob): string[] {
    const a = new Arena();
    const fields = [
      a.strvPtr(job.spankEnv),
      a.strvPtr(job.gresEnv),
      ...[
        job.nodeName,
        job.confFile,
        job.clusterName,
        job.jobId,
        job.uid,
        job.gid,
        job.workDir,
        job.userName,
        job.hetJobId,
        job.nodeAliases,
        job.nodeList,
        job.jobNodelist,
        job.partition,
        job.context,
        job.exitCode,
        job.derivedEc,
        ...CRED_VARS.map((v) => job.cred?.[v]),
        job.lateUserName,
      ].map((s) => a.ptr(s)),
    ];
    const p = this.#lib.symbols.pdc_slurmd_env(new Uint8Array(new BigUint64Array(fields).buffer));
    try {
      return readStrv(p);
    } finally {
      this.#lib.symbols.pdc_free_argv(p);
    }
  }
  /** Runs hooks synchronously, as the slurmd side does (off this thread). */
  async runHooks(cfg: CoreConfig, paths: string[], env: Record<string, string>): Promise<Outcome> {
    const a = new Arena();
    const out = new Uint8Array(32);
    await this.#lib.symbols.pdc_run_hooks(
      a.config(cfg),
      a.strv(paths),
      BigInt(paths.length),
      a.strv(envList(env)),
      null,
      null,
      out,
    );
    const outcome = readOutcome(Deno.UnsafePointer.of(out)!);
    this.#lib.symbols.pdc_outcome_free(out);
    return outcome;
  }
  /**
   * Runs hooks as the slurmctld side does: returns at once, and the core's
   * thread calls back exactly once; the promise settles on that call.
   */
  runHooksAsync(
    cfg: CoreConfig,
    paths: string[],
    env: Record<string, string>,
    jobId: number,
  ): Promise<Outcome> {
    const a = new Arena();
    const id = this.#nextCall++;
    const done = new Promise<Outcome>((resolve) => this.#pending.set(id, resolve));
    this.#asyncDone.ref();
    this.#lib.symbols.pdc_run_hooks_async(
      a.config(cfg),
      a.strv(paths),
      BigInt(paths.length),
      a.strv(envList(env)),
      jobId,
      this.#asyncDone.pointer,
      Deno.UnsafePointer.create(BigInt(id)),
    );
    return done.finally(() => this.#asyncDone.unref());
  }
  /** Hook lists on core threads now. */
  inflight(): number {
    return this.#lib.symbols.pdc_inflight();
  }
  /** Kills running hooks, waits up to `waitMs` for their threads; returns those left. */
  shutdown(waitMs: number): Promise<number> {
    return this.#lib.symbols.pdc_shutdown(waitMs);
  }

  /**
   * Stops and joins the core's threads (their callbacks still arrive), then
   * unloads the plugin: a thread still in the library would crash on unload.
   */
  async close(): Promise<void> {
    const left = await this.shutdown(10_000);
    if (left) throw new Error(`${left} hook thread(s) did not end: not unloading`);
    this.#asyncDone.close();
    for (const c of this.#ctldCallbacks) c.close();
    this.#lib.close();
  }
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function envList(env: Record<string, string>): string[] {
  return Object.entries(env).map(([k, v]) => `${k}=${v}`);
}
