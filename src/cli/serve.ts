// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `prep-deno serve [--socket PATH] [--heap-mb N] [--memory-mb N] [--tasks-max N]`: runs the warm service.
 *
 * @module
 */

import { DEFAULT_SOCKET, serve } from "../warm/serve.ts";
import { SocketRefused } from "../warm/socket.ts";
import { limitFlag, parseCommand, UsageError } from "./args.ts";

/** `serve --help`. */
const SERVE_HELP =
  `Usage: prep-deno serve [--socket PATH] [--heap-mb MIB] [--memory-mb MIB] [--tasks-max N]
                        [--metrics PATH]

The warm service for PrEpParameters=mode=warm: listens on a root-only unix
socket (default ${DEFAULT_SOCKET}) and runs each hook in a warm host process
that has the same kernel sandbox and Deno permissions as the spawn path, one
job at a time per host. A hook's deno.json chooses "warm": {"mode": "fresh"}
(a new isolate per job, the default) or {"mode": "reuse"} (the module
imported once per host), and "hosts" (most hosts per hook, default 4).
--heap-mb, --memory-mb and --tasks-max bound each warm host as they bound a
spawned hook (its JavaScript heap; all its processes through a memory cgroup;
its processes and threads through a pids cgroup).
Refuses a PATH that is not a socket or that a running service holds.
--metrics PATH writes node_exporter's textfile of the warm hosts (count, busy,
memory) every 5 s and after each job.
Run it as root, one per daemon host: systemctl enable --now prep-deno-serve.service
(see prep-deno-serve(8)).
`;

/** Runs `serve`; returns only if the listener closes. */
export async function serveCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand("serve", args, {
    socket: { type: "string" },
    "heap-mb": { type: "string" },
    "memory-mb": { type: "string" },
    "tasks-max": { type: "string" },
    metrics: { type: "string" },
  });
  if (values.help) {
    console.log(SERVE_HELP);
    return 0;
  }
  if (positionals.length) throw new UsageError(`serve: unexpected argument "${positionals[0]}"`);
  try {
    return await serve({
      socketPath: (values.socket as string | undefined) ?? DEFAULT_SOCKET,
      heapMb: limitFlag("serve", "heap_mb", values["heap-mb"] as string | undefined),
      memoryMb: limitFlag("serve", "memory_mb", values["memory-mb"] as string | undefined),
      tasksMax: limitFlag("serve", "tasks_max", values["tasks-max"] as string | undefined),
      metricsPath: values.metrics as string | undefined,
    });
  } catch (e) {
    if (e instanceof SocketRefused) throw new UsageError(`serve: ${e.message}`);
    throw e;
  }
}
