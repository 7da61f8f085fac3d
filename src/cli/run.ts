// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `prep-deno run MODULE [--timeout S] [--heap-mb N]`: what the plugin
 * executes. The job is this process's environment, exactly as Slurm built it.
 *
 * @module
 */

import { HOOK_FOR_CONTEXT, isScriptContext } from "../slurm_vars.ts";
import { runHook } from "../supervise.ts";
import { moduleArg, numberFlag, parseCommand, UsageError } from "./args.ts";

/** `run --help`. */
export const RUN_HELP = `Usage: prep-deno run MODULE [--timeout SECONDS] [--heap-mb MIB]

Runs the hook of MODULE that serves SLURM_SCRIPT_CONTEXT, in the sandbox, with
the job taken from the environment. This is what the prep/deno plugin executes.

  --timeout SECONDS  stop the hook after this long (the plugin passes PrologEpilogTimeout)
  --heap-mb MIB      the hook's heap limit (default 512)
`;

/** Runs `run`; resolves to the exit status. */
export async function runCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand("run", args, {
    timeout: { type: "string" },
    "heap-mb": { type: "string" },
  });
  if (values.help) {
    console.log(RUN_HELP);
    return 0;
  }
  const modulePath = moduleArg("run", positionals);
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
    timeoutSeconds: numberFlag("run", "timeout", values.timeout as string | undefined),
    heapMb: numberFlag("run", "heap-mb", values["heap-mb"] as string | undefined),
  });
}
