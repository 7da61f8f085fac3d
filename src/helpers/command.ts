// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Run a command from a hook as a shell prolog would: a clean environment
 * (a standard PATH, the job's variables, nothing of the runtime's), a
 * timeout, captured output, and errors that name the command and its status.
 *
 * @module
 */

import type { JobContext } from "../types.ts";

/** The PATH commands get when neither the job nor the caller gives one. */
export const STANDARD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Output kept per stream; the rest is read and dropped. */
const KEEP_BYTES = 1 << 20;

/** Options of {@linkcode runCommand}. */
export interface RunOptions {
  /** The job whose variables the command gets (SLURM_JOB_ID, SLURM_CONF, ...). */
  readonly job?: JobContext;
  /** Variables set on top (PATH included). */
  readonly env?: Readonly<Record<string, string>>;
  /** Seconds before the command is killed (SIGKILL); default 60, 0: no limit. */
  readonly timeoutSeconds?: number;
  /** Text written to the command's stdin. */
  readonly stdin?: string;
  /** Resolve with a failed result instead of throwing (default: throw). */
  readonly allowFailure?: boolean;
  /** Working folder. */
  readonly cwd?: string;
}

/** What a finished command gave. */
export interface CommandResult {
  /** argv as run. */
  readonly argv: readonly string[];
  /** Exit status (128+N when killed by signal N). */
  readonly status: number;
  /** The signal that ended it, if one did. */
  readonly signal?: Deno.Signal;
  /** Standard output (at most 1 MiB kept). */
  readonly stdout: string;
  /** Standard error (at most 1 MiB kept). */
  readonly stderr: string;
  /** Killed by the timeout. */
  readonly timedOut: boolean;
}

/** A command that failed; the message names it, its status and its first stderr line. */
export class CommandError extends Error {
  override name = "CommandError";
  /** The result, for callers that want the output. */
  readonly result: CommandResult;
  constructor(result: CommandResult) {
    const why = result.timedOut
      ? "timed out and was killed"
      : result.signal
      ? `was killed by ${result.signal}`
      : `exited with status ${result.status}`;
    const first = result.stderr.trim().split("\n")[0];
    super(`${result.argv.join(" ")} ${why}${first ? `: ${first}` : ""}`);
    this.result = result;
  }
}

/**
 * The environment a command gets: a standard PATH, the job's variables
 * (when given) minus the runtime's own, then `extra`.
 *
 * @example
 * ```ts
 * commandEnv(undefined, { LC_ALL: "C" }).PATH; // "/usr/local/sbin:...:/bin"
 * ```
 */
export function commandEnv(
  job?: JobContext,
  extra: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const env: Record<string, string> = { PATH: STANDARD_PATH };
  for (const [k, v] of Object.entries(job?.env ?? {})) {
    if (!k.startsWith("DENO_") && k !== "NO_COLOR") env[k] = v;
  }
  return { ...env, ...extra };
}

/**
 * Runs `argv` (no shell) and waits for it; throws {@linkcode CommandError}
 * when it fails, unless `allowFailure`.
 *
 * Needs the permission set to grant `run` for `argv[0]` (give full paths).
 *
 * @example
 * ```ts
 * import { runCommand } from "./command.ts";
 * export async function gpuCount(): Promise<number> {
 *   const { stdout } = await runCommand(["/usr/bin/nvidia-smi", "-L"], { timeoutSeconds: 20 });
 *   return stdout.split("\n").filter((l) => l.startsWith("GPU ")).length;
 * }
 * ```
 * @throws {CommandError} naming the command and how it failed.
 */
export async function runCommand(
  argv: readonly string[],
  opts: RunOptions = {},
): Promise<CommandResult> {
  if (argv.length === 0) throw new TypeError("runCommand: empty argv");
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      clearEnv: true,
      env: commandEnv(opts.job, opts.env),
      cwd: opts.cwd,
      stdin: opts.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new CommandError({
        argv,
        status: 127,
        stdout: "",
        stderr: `${argv[0]}: not found in the sandbox (is it installed, and in the view?)`,
        timedOut: false,
      });
    }
    throw e;
  }
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin)).catch(() => {});
    await w.close().catch(() => {});
  }
  let timedOut = false;
  const seconds = opts.timeoutSeconds ?? 60;
  const timer = seconds > 0
    ? setTimeout(() => {
      timedOut = true;
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
    }, seconds * 1000)
    : undefined;
  const [stdout, stderr, status] = await Promise.all([
    keep(child.stdout),
    keep(child.stderr),
    child.status,
  ]);
  clearTimeout(timer);
  const result: CommandResult = {
    argv,
    status: status.signal ? 128 + signalNumber(status.signal) : status.code,
    signal: status.signal ?? undefined,
    stdout,
    stderr,
    timedOut,
  };
  if ((result.status !== 0 || timedOut) && !opts.allowFailure) throw new CommandError(result);
  return result;
}

async function keep(stream: ReadableStream<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  let kept = 0;
  for await (const chunk of stream) {
    if (kept >= KEEP_BYTES) continue;
    const part = chunk.subarray(0, KEEP_BYTES - kept);
    kept += part.length;
    text += decoder.decode(part, { stream: true });
  }
  return text + decoder.decode();
}

const SIGNALS: Partial<Record<Deno.Signal, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGABRT: 6,
  SIGKILL: 9,
  SIGSEGV: 11,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
};

function signalNumber(s: Deno.Signal): number {
  return SIGNALS[s] ?? 0;
}
