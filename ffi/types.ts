// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The plugin's data as TypeScript sees it: what the binding passes in and
 * gets back. The layouts behind them are checked in `layout.ts`.
 *
 * @example
 * ```ts
 * import type { CoreConfig } from "./types.ts";
 * const cfg: CoreConfig = { runner: "/usr/local/sbin/prep-deno", timeoutSeconds: 30 };
 * ```
 *
 * @module
 */

import type { HookOutcome } from "../src/outcome/outcome_record.ts";

import type { CredVar } from "../src/contract.ts";

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
  /** Whole-hook memory limit passed to the runner (`--memory-mb`); undefined: its default. */
  memoryMb?: number;
  /** Process limit passed to the runner (`--tasks-max`); undefined: its default. */
  tasksMax?: number;
  /** mode=warm: the warm service's socket; undefined: spawn path. */
  warmSocket?: string;
  /** Asynchronous lists: every hook at once, one completion (PrologSlurmctld lines, 24.05+). */
  concurrent?: boolean;
  /** Non-zero: {@linkcode PrepPlugin.killTagged} with the job id and this tag stops the list. */
  killTag?: number;
  /** The daemon's own slurm.conf, handed to the runner as `--slurm-conf`. */
  slurmConf?: string;
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
  /** stdout and stderr of the last hook run (escaped: see pdc_escape_output). */
  output: string;
  /**
   * What slurmd's log shows of it: the output, then the runner's own line
   * made from the record by the one printer (`outcomeText`).
   */
  log: string;
  /** The hook that failed. */
  failedPath?: string;
  /** Why the warm service was passed over for the spawn path, if it was. */
  fallback?: string;
  /**
   * The last module hook's outcome record (src/outcome/outcome_record.ts), as the
   * plugin got it out of band (the runner's descriptor, the warm reply's
   * field); the node's drain reason is its cause.
   */
  record?: HookOutcome;
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
