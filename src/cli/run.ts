// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `prep-deno run MODULE [--timeout S] [--heap-mb N] [--memory-mb N] [--tasks-max N]`: what the
 * plugin executes. The job is this process's environment, exactly as Slurm
 * built it. The native launcher runs the usual line itself (src/launcher/);
 * it hands this module the lines that need a message or a path to resolve.
 *
 * @module
 */

import { LAUNCHER, NUMBERS } from "../contract.ts";
import { HOOK_FOR_CONTEXT, isScriptContext } from "../job/slurm_vars.ts";
import { runHook } from "../launch/mod.ts";
import {
  limitFlag,
  MAX_TIMEOUT_SECONDS,
  moduleArg,
  numberFlag,
  parseCommand,
  UsageError,
} from "./args.ts";

/** `run --help`. */
const RUN_HELP = `Usage: prep-deno run MODULE [--timeout SECONDS] [--heap-mb MIB] [--memory-mb MIB]
                     [--tasks-max N] [--slurm-conf FILE]

Runs the hook of MODULE that serves SLURM_SCRIPT_CONTEXT, in the sandbox, with
the job taken from the environment. This is what the prep/deno plugin executes.

  --timeout SECONDS  stop every process of the hook after this long, exit status 124
                     (the plugin passes PrologEpilogTimeout; at most ${MAX_TIMEOUT_SECONDS})
  --heap-mb MIB      the hook's JavaScript heap limit (default ${LAUNCHER.DEFAULT_HEAP_MB})
  --memory-mb MIB    the whole hook's memory limit: all its processes, off-heap memory
                     included (default: heap + ${LAUNCHER.DEFAULT_MEMORY_HEADROOM_MB}); needs a writable
                     memory cgroup, else only the heap limit holds
  --tasks-max N      most processes and threads the hook holds at once (default
                     ${NUMBERS.tasks_max.default}); a hook that reaches it is killed, status 125;
                     needs a writable pids cgroup
Each takes a whole number within the bounds PrEpParameters gives it (heap_mb
${NUMBERS.heap_mb.min}-${NUMBERS.heap_mb.max}, memory_mb ${NUMBERS.memory_mb.min}-${NUMBERS.memory_mb.max}, tasks_max ${NUMBERS.tasks_max.min}-${NUMBERS.tasks_max.max}).
  --slurm-conf FILE  the slurm.conf the calling daemon reads (the plugin passes it);
                     "slurm": true binds its folder and sets SLURM_CONF to it
  --outcome-fd FD    write the outcome record (how the hook ended) to descriptor FD
                     instead of the message and cause line on stderr (the plugin passes 3)
`;

/** Runs `run`; resolves to the exit status. */
export async function runCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand("run", args, {
    timeout: { type: "string" },
    "heap-mb": { type: "string" },
    "memory-mb": { type: "string" },
    "tasks-max": { type: "string" },
    "list-exports": { type: "boolean" },
    "slurm-conf": { type: "string" },
    "outcome-fd": { type: "string" },
  });
  if (values.help) {
    console.log(RUN_HELP);
    return 0;
  }
  const modulePath = moduleArg("run", positionals);
  const heapMb = limitFlag("run", "heap_mb", values["heap-mb"] as string | undefined);
  const memoryMb = limitFlag("run", "memory_mb", values["memory-mb"] as string | undefined);
  const tasksMax = limitFlag("run", "tasks_max", values["tasks-max"] as string | undefined);
  const context = Deno.env.get("SLURM_SCRIPT_CONTEXT");
  if (!isScriptContext(context)) {
    throw new UsageError(
      `run: SLURM_SCRIPT_CONTEXT is ${context === undefined ? "not set" : `"${context}"`}: ` +
        "run is what the plugin executes; to run a hook by hand use `prep-deno try`",
    );
  }
  return await runHook({
    modulePath,
    hook: HOOK_FOR_CONTEXT[context],
    timeoutSeconds: numberFlag(
      "run",
      "timeout",
      values.timeout as string | undefined,
      MAX_TIMEOUT_SECONDS,
    ),
    heapMb,
    memoryMb,
    tasksMax,
    listExports: values["list-exports"] === true,
    slurmConf: values["slurm-conf"] as string | undefined,
    outcomeFd: numberFlag("run", "outcome-fd", values["outcome-fd"] as string | undefined, 1 << 20),
  });
}
