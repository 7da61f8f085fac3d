// SPDX-License-Identifier: GPL-2.0-or-later
// What only several nodes show, on three slurmd (n1..n3) of a source-built
// release (--enable-multiple-slurmd): the same jobs under prep/script with
// bash recorders and under prep/deno with TypeScript and bash recorders run
// the same hooks on the same nodes with the same variables; a Prolog failing
// on one node drains that node only, with prep/script's consequence for the
// job. `deno task test-slurm 25.11.7` runs it; on Debian's Slurm (not built
// for several slurmd) it is reported as ignored.
import assert from "node:assert/strict";
import { bashHook, readRecords, type Record, recorders, tsHook } from "./hooks.ts";
import {
  atLeast,
  nodeNames,
  nodeState,
  RELEASE,
  sbatch,
  show,
  startCluster,
  stopCluster,
  waitFor,
  waitJobState,
} from "./cluster.ts";
import { normalized, settle } from "./compare.ts";

const NODES = 3;
const ignore = !RELEASE.multiNode;
if (ignore && !RELEASE.missing) {
  console.error(
    `multinode: Slurm ${RELEASE.version} from Debian is not built with --enable-multiple-slurmd; ` +
      "these tests run on a source-built release: deno task test-slurm 25.11.7",
  );
}
const TERMINAL = ["COMPLETED", "FAILED", "CANCELLED"];

/** The jobs of one run: label to job id. */
type Jobs = Map<string, number>;

async function runJobs(): Promise<Jobs> {
  const jobs: Jobs = new Map();
  // A step on every node: the default Prolog runs where a step lands.
  jobs.set("steps", await sbatch(["-N3", "--wrap", "srun -N3 true"]));
  // No step: without Alloc only the batch host runs the Prolog; the Epilog
  // runs on every allocated node.
  jobs.set("batch-only", await sbatch(["-N3", "--wrap", "true"]));
  jobs.set("two-nodes", await sbatch(["-N2", "--wrap", "srun -N2 true"]));
  for (const id of jobs.values()) await waitJobState(id, TERMINAL, 90);
  return jobs;
}

/**
 * "label context node" to the normalized env that hook got there; a second
 * run of one hook on one node shows up as "... node#2".
 */
type Seen = Map<string, { [k: string]: string }>;

function seen(jobs: Jobs, records: Record[]): Seen {
  const out: Seen = new Map();
  for (const [label, id] of jobs) {
    for (const r of records.filter((r) => r.jobId === id)) {
      const base = `${label} ${r.context} ${r.env.SLURMD_NODENAME ?? "slurmctld"}`;
      let key = base;
      for (let n = 2; out.has(key); n++) key = `${base}#${n}`;
      out.set(key, normalized(r.env));
    }
  }
  return out;
}

/** Which nodes ran `context` for job `label`, sorted. */
function nodesOf(s: Seen, label: string, context: string): string[] {
  return [...s.keys()].filter((k) => k.startsWith(`${label} ${context} `))
    .map((k) => k.split(" ")[2]).sort();
}

/** The envs of `context` for job `label`, one per node. */
function envsOf(s: Seen, label: string, context: string) {
  return [...s].filter(([k]) => k.startsWith(`${label} ${context} `)).map(([k, env]) => ({
    node: k.split(" ")[2],
    env,
  }));
}

async function runUnder(
  name: string,
  plugin: "prep/script" | "prep/deno",
  kind: "bash" | "ts",
  prologFlags = "",
): Promise<Seen> {
  const rec = recorders(`multi-${name}`);
  const hook = kind === "bash" ? rec.bash : rec.ts;
  await startCluster({
    plugin,
    prolog: hook,
    epilog: hook,
    prologSlurmctld: hook,
    epilogSlurmctld: hook,
    nodes: NODES,
    prologFlags,
  });
  const jobs = await runJobs();
  // Every job's EpilogSlurmctld and Epilogs are the last hooks: wait for them.
  await waitFor(`the epilogs under ${name}`, () => {
    const s = seen(jobs, readRecords(rec.dir));
    const done = [...jobs.keys()].every((l) =>
      nodesOf(s, l, "epilog_slurmctld").length >= 1 &&
      nodesOf(s, l, "epilog_slurmd").length >= (l === "two-nodes" ? 2 : 3)
    );
    return Promise.resolve(done ? s : undefined);
  }, 60);
  await new Promise((r) => setTimeout(r, 1000)); // a late duplicate would show here
  return seen(jobs, readRecords(rec.dir));
}

// PrologFlags change where and when slurmd calls the plugin (none is read
// by prep/script itself): Alloc runs the Prolog on every allocated node at
// allocation, Contain adds the extern step, Serial serialises the hooks of a
// node, RunInJob (24.05+) calls the plugin inside the job's extern
// slurmstepd, so prep/deno must load and work there.
const FLAGS = ["", "Alloc", "Contain", "Serial", ...(atLeast("24.05") ? ["RunInJob"] : [])];
/** Flags that run the Prolog on every allocated node at allocation. */
const ALLOC = new Set(["Alloc", "Contain", "RunInJob"]);

for (const flags of FLAGS) {
  const title = flags ? `PrologFlags=${flags}` : "default PrologFlags";
  let reference: Seen | undefined;
  Deno.test({
    name: `multinode (${title}): prep/script with bash hooks on 3 nodes (the reference)`,
    ignore,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const s = await runUnder(`script${flags}`, "prep/script", "bash", flags);
      for (const label of ["steps", "batch-only"]) {
        assert.deepEqual(nodesOf(s, label, "prolog_slurmctld"), ["slurmctld"], label);
        assert.deepEqual(nodesOf(s, label, "epilog_slurmctld"), ["slurmctld"], label);
        assert.deepEqual(nodesOf(s, label, "epilog_slurmd"), nodeNames(), label);
        for (const { env } of envsOf(s, label, "prolog_slurmctld")) {
          assert.equal(env.SLURM_JOB_NODELIST, "n[1-3]", label);
        }
        for (const { node, env } of envsOf(s, label, "epilog_slurmd")) {
          assert.equal(env.SLURM_NODELIST, "n[1-3]", label);
          assert.equal(env.SLURMD_NODENAME, node, label);
        }
      }
      assert.deepEqual(nodesOf(s, "steps", "prolog_slurmd"), nodeNames());
      // Without Alloc, a node that never gets a step never runs the Prolog.
      assert.deepEqual(
        nodesOf(s, "batch-only", "prolog_slurmd"),
        ALLOC.has(flags) ? nodeNames() : ["n1"],
      );
      assert.equal(nodesOf(s, "two-nodes", "epilog_slurmd").length, 2);
      reference = s;
    },
  });
  for (const kind of ["ts", "bash"] as const) {
    Deno.test({
      name:
        `multinode (${title}): prep/deno with ${kind} hooks runs the same hooks on the same nodes with the same values`,
      ignore,
      sanitizeResources: false,
      sanitizeOps: false,
      async fn() {
        assert.ok(reference, "the prep/script reference run failed");
        const got = await runUnder(`deno-${kind}${flags}`, "prep/deno", kind, flags);
        assert.deepEqual([...got.keys()].sort(), [...reference.keys()].sort());
        for (const [key, env] of reference) assert.deepEqual(got.get(key), env, key);
      },
    });
  }
}

/** Node states of n1..n3 and the job's state once settled. */
async function failOnN2(plugin: "prep/script" | "prep/deno", hook: string) {
  await startCluster({ plugin, prolog: hook, nodes: NODES, prologFlags: "Alloc" });
  const job = await sbatch(["-N3", "--wrap", "true"]);
  const snap = await settle(job, 60, async () => {
    const states = [];
    for (const n of nodeNames()) {
      const s = await nodeState(n);
      states.push(`${n}=${s.state}/${s.reason}`);
    }
    return states.join(" ");
  });
  const j = await show("job", job);
  return { ...snap, restarts: j.Restarts, priority: j.Priority };
}

Deno.test({
  name: "multinode: a Prolog failing on one node drains that node only, as under prep/script",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const bash = bashHook(
      "fail-on-n2",
      `[ "$SLURMD_NODENAME" = n2 ] && { echo "n2 is broken"; exit 1; }; exit 0`,
    );
    const ts = tsHook(
      "fail-on-n2",
      `if (job.env.SLURMD_NODENAME === "n2") { console.log("n2 is broken"); return 1; }`,
    );
    const ref = await failOnN2("prep/script", bash);
    console.log(`prep/script: ${JSON.stringify(ref)}`);
    assert.match(ref.nodes, /n1=IDLE\/ n2=[A-Z+]*DRAIN[A-Z+]*\/Prolog error n3=IDLE\//);
    assert.equal(ref.jobState, "PENDING");
    assert.equal(ref.jobReason, "launch_failed_requeued_held");
    for (const [kind, hook] of [["ts", ts], ["bash", bash]]) {
      const got = await failOnN2("prep/deno", hook);
      if (kind === "ts") {
        // drain_reason=yes (the default): a module's drain gives its cause, then the hook.
        assert.match(
          got.nodes,
          / n2=[A-Z+]*DRAIN[A-Z+]*\/exit status 1 \(prolog fail-on-n2\.ts\) /,
        );
        got.nodes = got.nodes.replace(
          /\/exit status 1 \(prolog fail-on-n2\.ts\) /,
          "/Prolog error ",
        );
      }
      assert.deepEqual(got, ref, `a ${kind} Prolog failing on n2`);
    }
    await stopCluster();
  },
});
