// SPDX-License-Identifier: GPL-2.0-or-later
// A failing or timed-out hook has the same consequences under prep/deno
// (TypeScript or bash) as under prep/script: node state and reason, job
// state and reason, and the hook's output in the daemon log.
import assert from "node:assert/strict";
import { BASE, bashHook, tsHook } from "./hooks.ts";
import {
  daemonLog,
  type HookSetup,
  nodeState,
  RELEASE,
  sbatch,
  show,
  startCluster,
  stopCluster,
} from "./cluster.ts";

/** A release not built here: every test reported as ignored (cluster.ts says why). */
const ignore = RELEASE.missing !== undefined;

type Slot = "prolog" | "epilog" | "prologSlurmctld" | "epilogSlurmctld";

interface Case {
  name: string;
  slot: Slot;
  timeout?: number;
  bash: string;
  ts: string;
  /** The daemon log line prep/script writes, which prep/deno must write too. */
  log: { daemon: "slurmd" | "slurmctld"; line: RegExp };
  /** Use these paths as they are instead of hook files made from bash/ts. */
  paths?: { bash: string; ts: string };
  /** PrEpParameters for the prep/deno runs. */
  prepParams?: string;
  /** How prep/deno says it in its own log (checked for the TypeScript run). */
  denoLog?: RegExp;
}

const CASES: Case[] = [
  {
    name: "failing Prolog",
    slot: "prolog",
    bash: `echo "to stdout"; echo "to stderr" >&2; exit 1`,
    ts: `console.log("to stdout"); console.error("to stderr"); return 1;`,
    log: { daemon: "slurmd", line: /error: prolog failed: rc:1 output:[^]*to stdout[^]*to stderr/ },
  },
  {
    name: "failing Epilog",
    slot: "epilog",
    bash: `echo "epilog says no"; exit 2`,
    ts: `console.log("epilog says no"); return 2;`,
    log: { daemon: "slurmd", line: /error: epilog failed: rc:2 output:epilog says no/ },
  },
  {
    name: "failing PrologSlurmctld",
    slot: "prologSlurmctld",
    bash: `exit 3`,
    ts: `return 3;`,
    log: { daemon: "slurmctld", line: /JobId=\d+ PrologSlurmctld.* exit status 3:0/ },
  },
  {
    name: "failing EpilogSlurmctld",
    slot: "epilogSlurmctld",
    bash: `exit 4`,
    ts: `throw new Error("epilogctld failed");`,
    log: { daemon: "slurmctld", line: /JobId=\d+ EpilogSlurmctld.* exit status [14]:0/ },
  },
  {
    name: "Prolog timeout",
    slot: "prolog",
    timeout: 2,
    bash: `sleep 30`,
    ts: `await new Promise((r) => setTimeout(r, 30000));`,
    // A script is killed by SIGTERM; the runner stops a module itself (124).
    log: {
      daemon: "slurmd",
      // The runner's own line follows, made from its record (never from the output).
      line: /error: prolog (killed by signal 15|failed: rc:124 output:[^]*timed out after 2 s)/,
    },
  },
  {
    name: "missing Prolog",
    slot: "prolog",
    bash: "",
    ts: "",
    paths: {
      bash: `${BASE}/none/prolog.sh`,
      ts: `${BASE}/none/prolog.ts`,
    },
    log: {
      daemon: "slurmd",
      line: new RegExp(
        `prolog: Unable to create list of paths \\[${BASE.replaceAll("/", "\\/")}\\/none\\/prolog`,
      ),
    },
    denoLog: /prep\/deno: Prolog=\S+prolog\.ts: cannot read the module/,
  },
  {
    name: "unusable runner",
    slot: "prolog",
    bash: "",
    ts: "",
    // prep/script: a script that cannot be executed; prep/deno: a runner that cannot.
    paths: {
      bash: `${BASE}/fail/not-executable.sh`,
      ts: `${BASE}/fail/ok.ts`,
    },
    prepParams: "runner=/nonexistent/prep-deno",
    log: {
      daemon: "slurmd",
      line:
        /error: prolog didn't run: status:127 reason:.*Run command failed - configuration error/,
    },
    denoLog:
      /prep\/deno: settings: runner=\/nonexistent\/prep-deno .*checks: runner NOT EXECUTABLE/,
  },
];

interface Snapshot {
  nodeState: string;
  nodeReason: string;
  jobState: string;
  jobReason: string;
}

async function snapshot(job: number): Promise<Snapshot> {
  const n = await nodeState();
  const j = await show("job", job);
  return { nodeState: n.state, nodeReason: n.reason, jobState: j.JobState, jobReason: j.Reason };
}

/** Polls until nothing has changed for 4 s and the job is not mid-flight. */
async function settle(job: number, seconds: number): Promise<Snapshot> {
  const until = Date.now() + seconds * 1000;
  let last = "", stableSince = Date.now(), snap: Snapshot;
  for (;;) {
    snap = await snapshot(job);
    const key = JSON.stringify(snap);
    if (key !== last) {
      last = key;
      stableSince = Date.now();
    }
    const busy = ["CONFIGURING", "RUNNING", "COMPLETING"].includes(snap.jobState) ||
      /COMPLETING/.test(snap.nodeState);
    if (!busy && Date.now() - stableSince >= 4000) return snap;
    if (Date.now() > until) return snap;
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function consequences(c: Case, plugin: HookSetup["plugin"], hook: string, warm = false) {
  const prepParams = plugin === "prep/deno" ? c.prepParams : undefined;
  await startCluster({ plugin, [c.slot]: hook, timeout: c.timeout ?? 30, prepParams, warm });
  const job = await sbatch(["--wrap", "true"]);
  const snap = await settle(job, 60);
  return { snap, log: daemonLog(c.log.daemon) };
}

for (const c of CASES) {
  Deno.test({
    name:
      `slurm failures (Slurm ${RELEASE.version}): ${c.name} does under prep/deno what it does under prep/script`,
    ignore,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const file = c.name.replaceAll(" ", "-");
      tsHook("ok", "");
      Deno.writeTextFileSync(`${BASE}/fail/not-executable.sh`, "#!/bin/bash\n", {
        mode: 0o644,
      });
      Deno.chmodSync(`${BASE}/fail/not-executable.sh`, 0o644);
      const bash = c.paths?.bash ?? bashHook(file, c.bash);
      const ts = c.paths?.ts ?? tsHook(file, c.ts);
      const ref = await consequences(c, "prep/script", bash);
      assert.match(ref.log, c.log.line, "prep/script did not log what this test expects");
      console.log(`prep/script: ${JSON.stringify(ref.snap)}`);
      // In mode=warm the runner is not involved, so "unusable runner" has no warm case.
      const runs: [string, string, boolean][] = [["ts", ts, false], ["bash", bash, false]];
      if (!c.prepParams) runs.push(["ts (mode=warm)", ts, true]);
      for (const [kind, hook, warm] of runs) {
        const got = await consequences(c, "prep/deno", hook, warm);
        // drain_reason=yes (the default): a TypeScript hook's drain gives its cause first,
        // then the hook ("<cause> (prolog <file>)"), so sinfo -R's default column says why.
        const slurmReason = /^(Prolog|Epilog) error$/.exec(ref.snap.nodeReason);
        if (kind.startsWith("ts") && slurmReason) {
          const file = hook.split("/").pop()!;
          const tail = ` (${slurmReason[1].toLowerCase()} ${file})`;
          assert.ok(
            got.snap.nodeReason.endsWith(tail) && got.snap.nodeReason.length > tail.length,
            `${c.name} with a ${kind} hook: node reason "${got.snap.nodeReason}"`,
          );
          got.snap.nodeReason = ref.snap.nodeReason;
        }
        assert.deepEqual(got.snap, ref.snap, `${c.name} with a ${kind} hook`);
        assert.match(got.log, c.log.line, `${c.name} with a ${kind} hook: daemon log`);
        if (kind === "ts" && c.denoLog) assert.match(got.log, c.denoLog);
        if (warm) assert.doesNotMatch(got.log, /warm service at .* not answering/);
      }
      if (c.name === "failing Prolog") {
        // As measured with prep/script on 22.05.8 (tests/fixtures).
        assert.match(ref.snap.nodeState, /DRAIN/);
        assert.equal(ref.snap.nodeReason, "Prolog error");
        assert.equal(ref.snap.jobState, "PENDING");
        assert.equal(ref.snap.jobReason, "launch_failed_requeued_held");
      }
    },
  });
}

Deno.test({
  name: "slurm failures: the cluster stops, every daemon it started is gone",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await stopCluster();
  },
});
