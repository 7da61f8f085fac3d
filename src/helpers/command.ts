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

/** Output kept per stream unless `maxOutputBytes` says otherwise. */
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
  /**
   * Bytes kept per stream (default 1 MiB). More is a {@linkcode CommandError}
   * saying so (the output is never silently shorter), unless `allowTruncation`.
   */
  readonly maxOutputBytes?: number;
  /** Keep the first `maxOutputBytes` and resolve; `truncated` says it happened. */
  readonly allowTruncation?: boolean;
}

/** What a finished command gave. */
export interface CommandResult {
  /** argv as run. */
  readonly argv: readonly string[];
  /** Exit status (128+N when killed by signal N). */
  readonly status: number;
  /** The signal that ended it, if one did. */
  readonly signal?: Deno.Signal;
  /** Standard output (at most `maxOutputBytes`, default 1 MiB, kept). */
  readonly stdout: string;
  /** Standard error (at most `maxOutputBytes` kept). */
  readonly stderr: string;
  /** Killed by the timeout. */
  readonly timedOut: boolean;
  /** Bytes read past `maxOutputBytes` and dropped (stdout and stderr together); 0 when whole. */
  readonly truncated?: number;
}

/** A command that failed; the message names it, its status and its first stderr line. */
export class CommandError extends Error {
  override name = "CommandError";
  /** The result, for callers that want the output. */
  readonly result: CommandResult;
  constructor(result: CommandResult) {
    const why = result.truncated && result.status === 0 && !result.timedOut
      ? `printed ${result.truncated} bytes more than the output kept (maxOutputBytes); refusing a partial answer`
      : result.timedOut
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
  // slurmctld gives its hooks no SLURM_CONF; with `slurm: true` the runner
  // sets the daemon's own in the process, and Slurm's commands need it.
  if (!env.SLURM_CONF) {
    try {
      const conf = Deno.env.get("SLURM_CONF");
      if (conf) env.SLURM_CONF = conf;
    } catch { /* no env permission for it: no `slurm: true` */ }
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
 * const { stdout } = await runCommand(["/usr/bin/uname", "-s"], { timeoutSeconds: 20 });
 * stdout; // "Linux\n"
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
  const max = opts.maxOutputBytes ?? KEEP_BYTES;
  const [out, err, status] = await Promise.all([
    keep(child.stdout, max),
    keep(child.stderr, max),
    child.status,
  ]);
  clearTimeout(timer);
  const result: CommandResult = {
    argv,
    status: status.signal ? 128 + signalNumber(status.signal) : status.code,
    signal: status.signal ?? undefined,
    stdout: out.text,
    stderr: err.text,
    timedOut,
    truncated: out.dropped + err.dropped,
  };
  if ((result.status !== 0 || timedOut) && !opts.allowFailure) throw new CommandError(result);
  if (result.truncated && !opts.allowTruncation) throw new CommandError(result);
  return result;
}

async function keep(
  stream: ReadableStream<Uint8Array>,
  max: number,
): Promise<{ text: string; dropped: number }> {
  const decoder = new TextDecoder();
  let text = "";
  let kept = 0;
  let dropped = 0;
  for await (const chunk of stream) {
    const part = chunk.subarray(0, Math.max(0, max - kept));
    dropped += chunk.length - part.length;
    if (part.length === 0) continue;
    kept += part.length;
    text += decoder.decode(part, { stream: true });
  }
  return { text: text + decoder.decode(), dropped };
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
