// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The warm tests' fixture: a real `prep-deno serve` per test, on its own
 * socket, reached through the plugin's C client (the binding); hooks
 * written into the test's own folder.
 */
import { join } from "node:path";
import { type CoreConfig, type Outcome, PrepPlugin } from "../../ffi/mod.ts";
import { fakeJobEnv } from "../../src/job/slurm_vars.ts";
import { PREP_DENO, TOP } from "../helpers.ts";

/** Test options: the service and the plugin outlive single ops. */
export const opts = { sanitizeOps: false, sanitizeResources: false };

/** A running service and what a test needs to drive it. */
export interface Service extends AsyncDisposable {
  dir: string;
  socket: string;
  child: Deno.ChildProcess;
  plugin: PrepPlugin;
  /** The plugin's config for this service (timeout 30 s unless given). */
  cfg(timeoutSeconds?: number): CoreConfig;
  /** Writes `name/hook.ts` (and its deno.json when `config` is given). */
  hook(name: string, code: string, config?: unknown): string;
  /** Runs one hook through the plugin's warm client. */
  run(path: string, jobId: number, timeoutSeconds?: number): Promise<Outcome>;
  /** What the service wrote to stderr so far. */
  log(): string;
  stop(): Promise<void>;
}

/** Starts a service in a fresh folder; `args` go to `serve`. */
export async function startService(args: string[] = []): Promise<Service> {
  const dir = Deno.makeTempDirSync({ dir: "/var/tmp", prefix: "prep-deno-warm-" });
  const socket = join(dir, "run", "serve.sock");
  const child = new Deno.Command(PREP_DENO, {
    args: ["serve", "--socket", socket, ...args],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  const logDone = (async () => {
    const dec = new TextDecoder();
    for await (const c of child.stderr) log += dec.decode(c, { stream: true });
  })();
  for (let i = 0; i < 1000; i++) {
    try {
      if (Deno.statSync(socket).isSocket) break;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 10));
  }
  const plugin = PrepPlugin.open(join(TOP, "build", "prep_deno.so"));
  const cfg = (timeoutSeconds = 30): CoreConfig => ({
    runner: PREP_DENO,
    timeoutSeconds,
    warmSocket: socket,
  });
  const s: Service = {
    dir,
    socket,
    child,
    plugin,
    cfg,
    hook(name, code, config) {
      const d = join(dir, name);
      Deno.mkdirSync(d, { recursive: true });
      if (config !== undefined) {
        Deno.writeTextFileSync(join(d, "deno.json"), JSON.stringify(config));
      }
      const path = join(d, "hook.ts");
      Deno.writeTextFileSync(path, code);
      return path;
    },
    run: (path, jobId, timeoutSeconds) =>
      plugin.runHooksAsync(cfg(timeoutSeconds), [path], env(jobId), jobId),
    log: () => log,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await child.status;
      await logDone;
      await plugin.close();
      // A host killed by the test may still be going away.
      for (let i = 0;; i++) {
        try {
          Deno.removeSync(dir, { recursive: true });
          break;
        } catch (e) {
          if (i >= 20) throw e;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    },
    [Symbol.asyncDispose]: () => s.stop(),
  };
  return s;
}

/** A job's environment, as slurmd gives a Prolog. */
export const env = (id: number) => fakeJobEnv("prolog_slurmd", { id });
/** The hook's output, trimmed. */
export const text = (o: { log: string }) => o.log.trim();
