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
import {
  checkLayouts,
  cJson,
  type Layouts,
  type LibraryContract,
  SLURMD_JOB_HEAD,
} from "./layout.ts";
import { Arena, envList, INFINITE, readOutcome, readStrv } from "./memory.ts";
import type {
  CoreConfig,
  JobEnvInput,
  Outcome,
  PrepCallType,
  SlurmctldCallbacks,
  SlurmdJob,
} from "./types.ts";

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
  pdc_number_check: {
    parameters: ["buffer", "buffer", "buffer", "buffer", "u64"],
    result: "i32",
  },
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
  pdc_kill_tagged: { parameters: ["u32", "u32"], result: "i32" },
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

  /**
   * The core's check of one number of PrEpParameters (`pdc_number_check`):
   * the value, or the error naming the key, the value and the range.
   */
  checkNumber(key: string, value: string): { value: number } | { error: string } {
    const a = new Arena();
    const out = new BigInt64Array(1);
    const why = new Uint8Array(256);
    const rc = this.#lib.symbols.pdc_number_check(
      a.str(key),
      a.str(value),
      new Uint8Array(out.buffer),
      why,
      BigInt(why.length),
    );
    if (rc === 0) return { value: Number(out[0]) };
    return { error: new TextDecoder().decode(why.subarray(0, why.indexOf(0))) };
  }

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
  /** SIGKILLs the running hooks of lists started with this job id and `killTag`; how many. */
  killTagged(jobId: number, killTag: number): number {
    return this.#lib.symbols.pdc_kill_tagged(jobId, killTag);
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
