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

import { CRED_VARS, type CredVar } from "../src/contract.ts";

export { CRED_VARS, type CredVar };

/** What the library says about itself, read (and checked) before anything else. */
const SELF_SYMBOLS = {
  prep_deno_contract_json: { parameters: [], result: "pointer" },
  prep_deno_ffi_layout_json: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

const SYMBOLS = {
  prep_deno_version: { parameters: [], result: "pointer" },
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

/** `prep_call_type_t`: which hook `required()` is asked about (checked at open()). */
export enum PrepCallType {
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
  /** 25.11+: `SLURM_JOB_SLUID`. */
  sluid?: string;
  partition?: string;
  context: "prolog_slurmd" | "epilog_slurmd";
  exitCode?: string;
  derivedEc?: string;
  /** Credential fields, by the variable they set. */
  cred?: Partial<Record<CredVar, string>>;
  lateUserName?: string;
}

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
  config(c: CoreConfig, layout: Layouts["pdc_config_t"]): Uint8Array<ArrayBuffer> {
    const b = new ArrayBuffer(layout.size);
    const dv = new DataView(b);
    dv.setBigUint64(layout.runner, this.ptr(c.runner), true);
    dv.setInt32(layout.timeout_s, c.timeoutSeconds ?? -1, true);
    dv.setInt32(layout.heap_mb, c.heapMb ?? 0, true);
    dv.setBigUint64(layout.warm_socket, this.ptr(c.warmSocket), true);
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
function readOutcome(p: Deno.PointerObject, at: Layouts["pdc_outcome_t"]): Outcome {
  const v = new Deno.UnsafePointerView(p);
  const status = v.getInt32(at.status);
  const out = v.getPointer(at.output);
  const failed = v.getPointer(at.failed_path);
  const fallback = v.getPointer(at.fallback);
  const low = status & 0x7f;
  return {
    status,
    exitCode: low === 0 ? (status >> 8) & 0xff : undefined,
    signal: low !== 0 && low !== 0x7f ? low : undefined,
    timedOut: v.getInt32(at.timed_out) !== 0,
    output: out ? Deno.UnsafePointerView.getCString(out) : "",
    failedPath: failed ? Deno.UnsafePointerView.getCString(failed) : undefined,
    fallback: fallback ? Deno.UnsafePointerView.getCString(fallback) : undefined,
  };
}

/** What the library says about itself: its contract and the layouts of its structs. */
export interface Layouts {
  pdc_config_t: {
    size: number;
    runner: number;
    timeout_s: number;
    heap_mb: number;
    warm_socket: number;
  };
  pdc_outcome_t: {
    size: number;
    status: number;
    timed_out: number;
    output: number;
    failed_path: number;
    fallback: number;
  };
  pdc_slurmd_job_t: { size: number; cred: number; late_user_name: number; credCount: number };
  prep_callbacks_t: { size: number; prolog_slurmctld: number; epilog_slurmctld: number };
  prep_call_type_t: Record<string, number>;
  job_env_t: { size: number };
}

/** The library's `prep_deno_contract_json()`, parsed. */
export interface LibraryContract {
  exit: Record<string, number>;
  defaultRunner: string;
  defaultSocket: string;
  warmMagic: string;
  warmMaxFrame: number;
  maxOutput: number;
  runnerGraceSeconds: number;
  causeMarker: string;
  reasonMax: number;
  contextVar: string;
  credVars: string[];
  layout: Pick<Layouts, "pdc_config_t" | "pdc_outcome_t" | "pdc_slurmd_job_t">;
}

/** The fields of `pdc_slurmd_job_t` before `cred`, in order (all pointers). */
const SLURMD_JOB_HEAD = [
  "spankEnv",
  "gresEnv",
  "nodeName",
  "confFile",
  "clusterName",
  "jobId",
  "sluid",
  "uid",
  "gid",
  "workDir",
  "userName",
  "hetJobId",
  "nodeAliases",
  "nodeList",
  "jobNodelist",
  "partition",
  "context",
  "exitCode",
  "derivedEc",
] as const;

/**
 * Checks what this binding writes and reads against the library's own
 * numbers; throws naming the first difference (a plugin built from other
 * sources than this binding).
 */
function checkLayouts(path: string, c: LibraryContract, ffi: Layouts): Layouts {
  const want: [string, number | undefined, number][] = [
    ["pdc_config_t.runner", c.layout?.pdc_config_t?.runner, 0],
    ["pdc_config_t.timeout_s", c.layout?.pdc_config_t?.timeout_s, 8],
    ["pdc_config_t.heap_mb", c.layout?.pdc_config_t?.heap_mb, 12],
    ["pdc_config_t.warm_socket", c.layout?.pdc_config_t?.warm_socket, 16],
    ["pdc_outcome_t.status", c.layout?.pdc_outcome_t?.status, 0],
    ["pdc_outcome_t.timed_out", c.layout?.pdc_outcome_t?.timed_out, 4],
    ["pdc_outcome_t.output", c.layout?.pdc_outcome_t?.output, 8],
    ["pdc_outcome_t.failed_path", c.layout?.pdc_outcome_t?.failed_path, 16],
    ["pdc_outcome_t.fallback", c.layout?.pdc_outcome_t?.fallback, 24],
    ["pdc_slurmd_job_t.cred", c.layout?.pdc_slurmd_job_t?.cred, SLURMD_JOB_HEAD.length * 8],
    ["pdc_slurmd_job_t.credCount", c.layout?.pdc_slurmd_job_t?.credCount, CRED_VARS.length],
    [
      "pdc_slurmd_job_t.size",
      c.layout?.pdc_slurmd_job_t?.size,
      (SLURMD_JOB_HEAD.length + CRED_VARS.length + 1) * 8,
    ],
    ["prep_callbacks_t.size", ffi?.prep_callbacks_t?.size, 16],
    ["prep_callbacks_t.prolog_slurmctld", ffi?.prep_callbacks_t?.prolog_slurmctld, 0],
    ["prep_callbacks_t.epilog_slurmctld", ffi?.prep_callbacks_t?.epilog_slurmctld, 8],
    ["PREP_PROLOG", ffi?.prep_call_type_t?.PREP_PROLOG, PrepCallType.Prolog],
    ["PREP_EPILOG", ffi?.prep_call_type_t?.PREP_EPILOG, PrepCallType.Epilog],
    [
      "PREP_PROLOG_SLURMCTLD",
      ffi?.prep_call_type_t?.PREP_PROLOG_SLURMCTLD,
      PrepCallType.PrologSlurmctld,
    ],
    [
      "PREP_EPILOG_SLURMCTLD",
      ffi?.prep_call_type_t?.PREP_EPILOG_SLURMCTLD,
      PrepCallType.EpilogSlurmctld,
    ],
  ];
  for (const [name, lib, mine] of want) {
    if (lib !== mine) {
      throw new Error(
        `${path}: ${name} is ${lib} in the library but ${mine} in ffi/binding.ts: ` +
          "rebuild the plugin from this tree (deno task build-plugin)",
      );
    }
  }
  if (c.credVars?.join() !== CRED_VARS.join()) {
    throw new Error(
      `${path}: credential variables differ from src/contract.ts: rebuild the plugin from this tree`,
    );
  }
  if (!(ffi?.job_env_t?.size > 0)) throw new Error(`${path}: job_env_t has no size`);
  return { ...ffi, ...c.layout };
}

function cJson<T>(p: Deno.PointerValue): T {
  if (!p) throw new Error("the library returned no JSON");
  return JSON.parse(Deno.UnsafePointerView.getCString(p)) as T;
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
  /** The library's contract (`prep_deno_contract_json()`), as it reported it at open(). */
  readonly contract: LibraryContract;
  /** Struct layouts and enum values of the library's build, checked at open(). */
  readonly layouts: Layouts;
  /** prep/deno's version the library was built as (the VERSION file). */
  readonly version: string;
  /** Completion calls that arrived for a call already completed: must stay 0. */
  duplicateCallbacks = 0;

  private constructor(path: string) {
    const self = Deno.dlopen(path, SELF_SYMBOLS);
    try {
      this.contract = cJson<LibraryContract>(self.symbols.prep_deno_contract_json());
      this.layouts = checkLayouts(
        path,
        this.contract,
        cJson<Layouts>(self.symbols.prep_deno_ffi_layout_json()),
      );
    } finally {
      self.close();
    }
    this.#lib = Deno.dlopen(path, SYMBOLS);
    this.version = Deno.UnsafePointerView.getCString(this.#lib.symbols.prep_deno_version()!);
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
        resolve(readOutcome(outcome, this.layouts.pdc_outcome_t));
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
    const at = this.layouts.prep_callbacks_t;
    const table = new BigUint64Array(at.size / 8);
    table[at.prolog_slurmctld / 8] = make(cb.prologSlurmctld);
    table[at.epilog_slurmctld / 8] = make(cb.epilogSlurmctld);
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
    const p = this.#lib.symbols.pdc_hook_argv(
      a.config(cfg, this.layouts.pdc_config_t),
      a.str(path),
    );
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
        ...SLURMD_JOB_HEAD.slice(2).map((k) => job[k as Exclude<typeof k, "spankEnv" | "gresEnv">]),
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
    const out = new Uint8Array(this.layouts.pdc_outcome_t.size);
    await this.#lib.symbols.pdc_run_hooks(
      a.config(cfg, this.layouts.pdc_config_t),
      a.strv(paths),
      BigInt(paths.length),
      a.strv(envList(env)),
      null,
      null,
      out,
    );
    const outcome = readOutcome(Deno.UnsafePointer.of(out)!, this.layouts.pdc_outcome_t);
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
      a.config(cfg, this.layouts.pdc_config_t),
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
