// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `prep-deno`: runs Slurm Prolog/Epilog/PrologSlurmctld/EpilogSlurmctld
 * hooks written in TypeScript, each in a Deno sandbox inside a kernel
 * sandbox. Entry point of the runner's TypeScript; the native launcher
 * (src/launcher/) runs the hot path of `run` itself and everything else here.
 *
 * @module
 */

// Commands load lazily: each command loads only what it runs.
import { reportUsage, UsageError } from "./cli/args.ts";
import { EXIT } from "./contract.ts";

/** Top-level `--help`. */
const HELP = `Usage: prep-deno <command> [options]

Commands:
  run MODULE    run a hook for the job in the environment (what prep/deno executes)
  try MODULE    run a hook locally with a fake job, through the same sandbox
  check MODULE  type-check a hook module and show the permissions of each hook
  init [DIR]    start a hooks folder: policy, a hook module, its unit test
  bundle DIR -o NAME.ts   one self-contained module, its policy inside (configless clusters)
  serve         the warm service (PrEpParameters=mode=warm): hooks as messages, not processes
  history       the hook runs this node recorded (--job, --hook, --failed, --since, --json)
  stats         runs, failure rate and p50/p95/p99 duration per hook and module

Run prep-deno <command> --help for a command's options; prep-deno --version
prints this runner's version, its Deno's, and the Slurm its plugin was built for.
`;

/** Dispatches a command line; resolves to the exit status. */
export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  try {
    switch (command) {
      case "run":
        return await (await import("./cli/run.ts")).runCommand(rest);
      case "try":
        return await (await import("./cli/try.ts")).tryCommand(rest);
      case "check":
        return await (await import("./cli/check.ts")).checkCommand(rest);
      case "init":
        return await (await import("./cli/init.ts")).initCommand(rest);
      case "bundle":
        return await (await import("./cli/bundle.ts")).bundleCommand(rest);
      case "-V":
      case "--version":
      case "version":
        return (await import("./cli/version.ts")).versionCommand();
      case "history":
        return await (await import("./cli/history.ts")).historyCommand(rest);
      case "stats":
        return await (await import("./cli/stats.ts")).statsCommand(rest);
      case "serve":
        return await (await import("./cli/serve.ts")).serveCommand(rest);
      case "__warmhost":
        // Inside the sandbox: one warm host of the service.
        return await (await import("./warm/host.ts")).warmHost(JSON.parse(rest[0]));
      case "__plan":
        // The native launcher's plan cache missed: not for people.
        return await (await import("./cli/plan.ts")).planCommand(rest);
      case undefined:
      case "-h":
      case "--help":
      case "help":
        console.log(HELP);
        return command === undefined ? EXIT.USAGE : 0;
      default:
        throw new UsageError(
          `${command}: unknown command (use run, try, check, init, bundle, serve, history or stats)`,
        );
    }
  } catch (e) {
    if (e instanceof UsageError) return reportUsage(e);
    throw e;
  }
}

if (import.meta.main) {
  // No top-level await: when a hook's worker vanishes, the host's unload
  // guard must get to report it, not Deno's "never resolved" error.
  main(Deno.args).then((status) => Deno.exit(status));
}
