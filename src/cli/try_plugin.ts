// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `prep-deno try MODULE --plugin prep_deno.so`: the hook through the real
 * plugin code. Prolog/Epilog go through `prep_p_prolog`/`prep_p_epilog` with
 * a slurm.conf naming the module, exactly as slurmd calls them; the
 * slurmctld hooks through the C core the slurmctld side hands them to (its
 * job record only exists inside slurmctld), with the environment Slurm's
 * job_common_env_vars() would give.
 *
 * @module
 */

import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { PrepPlugin } from "../../ffi/mod.ts";
import { isCompiled } from "../self_command.ts";
import type { ScriptContext } from "../types.ts";

/** A runner path the plugin can execute: this binary, or build/prep-deno beside src/. */
function runnerPath(): string {
  if (isCompiled()) return Deno.execPath();
  return resolve(dirname(fileURLToPath(import.meta.url)), "../../build/prep-deno");
}

/** What the plugin path gives back. */
export interface PluginTry {
  /** The wait status slurmd/slurmctld would see (0: success). */
  status: number;
  /** The hook's output, for the slurmctld path (slurmd's goes to its log). */
  output: string;
}

/** Runs the module as the plugin would for `context`. */
export async function tryThroughPlugin(opts: {
  plugin: string;
  modulePath: string;
  context: ScriptContext;
  env: Record<string, string>;
  timeoutSeconds?: number;
  heapMb?: number;
}): Promise<PluginTry> {
  const runner = runnerPath();
  await using plugin = PrepPlugin.open(resolve(opts.plugin));
  const modulePath = resolve(opts.modulePath);
  const timeout = opts.timeoutSeconds ?? 0;
  if (opts.context.endsWith("_slurmctld")) {
    const o = await plugin.runHooksAsync(
      { runner, timeoutSeconds: timeout || undefined, heapMb: opts.heapMb },
      [modulePath],
      opts.env,
      Number(opts.env.SLURM_JOB_ID ?? 0),
    );
    return { status: o.status, output: o.output };
  }
  const dir = Deno.makeTempDirSync({ prefix: "prep-deno-try-" });
  try {
    const conf = join(dir, "slurm.conf");
    const key = opts.context === "prolog_slurmd" ? "Prolog" : "Epilog";
    const params = [`runner=${runner}`, ...(opts.heapMb ? [`heap_mb=${opts.heapMb}`] : [])];
    Deno.writeTextFileSync(
      conf,
      [
        `ClusterName=${opts.env.SLURM_CLUSTER_NAME ?? "cluster"}`,
        "SlurmctldHost=localhost",
        `${key}=${modulePath}`,
        `PrEpParameters=${params.join(",")}`,
        `PrologEpilogTimeout=${timeout}`,
        `NodeName=${opts.env.SLURMD_NODENAME ?? "localhost"} CPUs=1`,
        `PartitionName=${opts.env.SLURM_JOB_PARTITION ?? "debug"} Nodes=ALL`,
      ].join("\n") + "\n",
    );
    plugin.loadConf(conf);
    plugin.slurmdConf(opts.env.SLURMD_NODENAME ?? "localhost", conf);
    plugin.init();
    // What the job itself does not carry (SPANK, GRES, overrides) rides in
    // the GRES list; Slurm's own variables are built by the plugin.
    const own = new Set(Object.keys(opts.env).filter((k) => k.startsWith("SLURM")));
    using jobEnv = plugin.jobEnv({
      jobId: Number(opts.env.SLURM_JOB_ID ?? 1),
      uid: Number(opts.env.SLURM_JOB_UID ?? 0),
      gid: Number(opts.env.SLURM_JOB_GID ?? 0),
      userName: opts.env.SLURM_JOB_USER ?? "root",
      workDir: opts.env.SLURM_JOB_WORK_DIR ?? "/tmp",
      nodeList: opts.env.SLURM_NODELIST ?? "localhost",
      partition: opts.env.SLURM_JOB_PARTITION ?? "debug",
      exitCode: opts.context === "epilog_slurmd"
        ? Number(opts.env.SLURM_JOB_EXIT_CODE ?? 0)
        : undefined,
      derivedEc: Number(opts.env.SLURM_JOB_DERIVED_EC ?? 0),
      gresEnv: Object.entries(opts.env).filter(([k]) => !own.has(k)).map(([k, v]) => `${k}=${v}`),
    });
    const rc = opts.context === "prolog_slurmd"
      ? await plugin.prolog(jobEnv.pointer)
      : await plugin.epilog(jobEnv.pointer);
    return { status: rc, output: "" };
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}
