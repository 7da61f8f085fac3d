// SPDX-License-Identifier: GPL-2.0-or-later
// The same jobs under prep/script with bash recorders, under prep/deno with
// TypeScript recorders, and under prep/deno with the bash recorders: every
// hook runs once per job with the right context and gets the same variables
// and values (job ids aside). On Debian's Slurm, or on a source-built release
// with `deno task test-slurm VERSION`; what that release's prep/script must
// pass (the spec's version table) is checked on the reference run.
import assert from "node:assert/strict";
import { readRecords, type Record, recorders } from "./hooks.ts";
import { normalized } from "./compare.ts";
import {
  atLeast,
  daemonLog,
  RELEASE,
  sbatch,
  slurm,
  srun,
  startCluster,
  stopCluster,
  waitFor,
  waitJobState,
} from "./cluster.ts";

const CONTEXTS = ["prolog_slurmctld", "prolog_slurmd", "epilog_slurmd", "epilog_slurmctld"];
/** A release not built here: every test reported as ignored (cluster.ts says why). */
const ignore = RELEASE.missing !== undefined;
const TRICKY_NAME = `my job 'q' "dq" $(id)\nline2`;

/** Label to job ids, for one run of the job set. */
type JobSet = Map<string, number[]>;

async function runJobSet(): Promise<JobSet> {
  const jobs: JobSet = new Map();
  const terminal = ["COMPLETED", "FAILED", "CANCELLED"];
  const cancelled = await sbatch(["--wrap", "sleep 120"]);
  await waitJobState(cancelled, ["RUNNING"]);
  await slurm("scancel", [String(cancelled)]);
  jobs.set("batch", [await sbatch(["--wrap", "true"])]);
  assert.equal(await srun(["-J", "srun-job", "-N1", "true"]), 0);
  const all = (await slurm("scontrol", ["show", "jobs", "--oneliner"])).stdout;
  jobs.set("srun", [Number(/JobId=(\d+) JobName=srun-job/.exec(all)![1])]);
  const array = await sbatch(["--array=0-1", "--wrap", "true"]);
  jobs.set("array", []);
  jobs.set("name", [await sbatch(["-J", TRICKY_NAME, "--wrap", "true"])]);
  jobs.set("comment", [await sbatch(["--comment", "a comment, with 'quotes'", "--wrap", "true"])]);
  jobs.set("account", [await sbatch(["--account", "physics", "--wrap", "true"])]);
  jobs.set("failing", [await sbatch(["--wrap", "exit 3"])]);
  jobs.set("gpu", [await sbatch(["--gres=gpu:2", "--wrap", "true"])]);
  jobs.set("cancelled", [cancelled]);
  // Array tasks get their own job ids once they run.
  const tasks = await waitFor("array tasks", async () => {
    const out = (await slurm("scontrol", ["show", "jobs", "--oneliner"])).stdout;
    const ids = [
      ...out.matchAll(new RegExp(`JobId=(\\d+) ArrayJobId=${array} ArrayTaskId=(\\d+) `, "g")),
    ]
      .sort((a, b) => Number(a[2]) - Number(b[2])).map((m) => Number(m[1]));
    return ids.length === 2 ? ids : undefined;
  });
  jobs.set("array", tasks);
  for (const ids of jobs.values()) {
    for (const id of ids) await waitJobState(id, terminal, 90);
  }
  return jobs;
}

interface Run {
  jobs: JobSet;
  records: Record[];
}

async function runUnder(
  name: string,
  plugin: "prep/script" | "prep/deno",
  kind: "bash" | "ts",
  warm = false,
): Promise<Run> {
  const rec = recorders(name);
  const hook = kind === "bash" ? rec.bash : rec.ts;
  await startCluster({
    plugin,
    prolog: hook,
    epilog: hook,
    prologSlurmctld: hook,
    epilogSlurmctld: hook,
    warm,
  });
  const jobs = await runJobSet();
  const expected = [...jobs.values()].flat().length * CONTEXTS.length;
  await waitFor(`${expected} hook records under ${name}`, () => {
    const r = readRecords(rec.dir);
    return Promise.resolve(r.length >= expected ? r : undefined);
  }, 60);
  // A late duplicate would show up here.
  await new Promise((r) => setTimeout(r, 1000));
  return { jobs, records: readRecords(rec.dir) };
}

/** label/index/context to the normalized env of that single record. */
function byJob(run: Run): Map<string, { [k: string]: string }> {
  const out = new Map<string, { [k: string]: string }>();
  for (const [label, ids] of run.jobs) {
    ids.forEach((id, i) => {
      for (const context of CONTEXTS) {
        const found = run.records.filter((r) => r.jobId === id && r.context === context);
        assert.equal(
          found.length,
          1,
          `${label}[${i}] job ${id}: ${context} ran ${found.length} times`,
        );
        assert.equal(found[0].env.SLURM_SCRIPT_CONTEXT, context);
        out.set(`${label}[${i}] ${context}`, normalized(found[0].env));
      }
    });
  }
  return out;
}

let reference: Map<string, { [k: string]: string }>;

/**
 * The variables the spec's version table (prep-script-spec.md 3.1, 3.2 and
 * Appendix A) gives prep/script on this release, as the reference run got
 * them: the parity then proves prep/deno passes them too.
 */
function releaseVariables(ref: Map<string, { [k: string]: string }>) {
  const slurmd = ["prolog_slurmd", "epilog_slurmd"];
  const ctld = ["prolog_slurmctld", "epilog_slurmctld"];
  const has = (contexts: string[], name: string, want: boolean) => {
    for (const c of contexts) {
      const env = ref.get(`batch[0] ${c}`)!;
      assert.equal(
        name in env,
        want,
        `Slurm ${RELEASE.version} ${c}: ${name} ${want ? "missing" : "present"}`,
      );
    }
  };
  // 23.02+ (every release tested here but 22.05).
  has(slurmd, "SLURM_JOB_OVERSUBSCRIBE", atLeast("23.02"));
  has(slurmd, "SLURM_JOB_START_TIME", atLeast("23.02"));
  has(ctld, "SLURM_JOB_START_TIME", atLeast("23.02"));
  has(slurmd, "SLURM_JOB_CORE_SPEC_COUNT", atLeast("23.02"));
  has(ctld, "SLURM_JOB_CORE_SPEC_COUNT", false);
  has(slurmd, "SLURM_JOB_NODELIST", atLeast("23.02")); // 23.02.6+
  // 25.11+: the job's SLUID on both sides.
  has(slurmd, "SLURM_JOB_SLUID", atLeast("25.11"));
  has(ctld, "SLURM_JOB_SLUID", atLeast("25.11"));
  // 26.05: SLURM_JOB_EXCLUSIVE everywhere; OVERSUBSCRIBE is NO/YES/OK.
  has(slurmd, "SLURM_JOB_EXCLUSIVE", atLeast("26.05"));
  has(ctld, "SLURM_JOB_EXCLUSIVE", atLeast("26.05"));
  if (atLeast("26.05")) {
    for (const c of [...slurmd, ...ctld]) {
      assert.match(ref.get(`batch[0] ${c}`)!.SLURM_JOB_OVERSUBSCRIBE, /^(NO|YES|OK)$/, c);
    }
  }
  // Never on the slurmd side: the job name; never on the slurmctld side: the node name.
  has(slurmd, "SLURM_JOB_NAME", false);
  has(ctld, "SLURMD_NODENAME", false);
}

Deno.test({
  name: `slurm parity (Slurm ${RELEASE.version}): prep/script with bash hooks (the reference)`,
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    reference = byJob(await runUnder("script-bash", "prep/script", "bash"));
    // What the suite relies on is really there.
    assert.equal(reference.get("name[0] prolog_slurmctld")!.SLURM_JOB_NAME, TRICKY_NAME);
    assert.equal(reference.get("account[0] prolog_slurmctld")!.SLURM_JOB_ACCOUNT, "physics");
    assert.equal(
      reference.get("comment[0] prolog_slurmd")!.SLURM_JOB_COMMENT,
      "a comment, with 'quotes'",
    );
    assert.equal(reference.get("failing[0] epilog_slurmctld")!.SLURM_JOB_EXIT_CODE2, "3:0");
    assert.ok(
      reference.get("gpu[0] prolog_slurmd")!.CUDA_VISIBLE_DEVICES,
      "no GPU variables for the GPU job",
    );
    assert.equal(reference.get("array[1] prolog_slurmctld")!.SLURM_ARRAY_TASK_ID, "1");
    releaseVariables(reference);
  },
});

for (
  const [name, kind, warm] of [
    ["deno-ts", "ts", false],
    ["deno-bash", "bash", false],
    ["deno-ts-warm", "ts", true],
  ] as const
) {
  Deno.test({
    name: `slurm parity (Slurm ${RELEASE.version}): prep/deno${
      warm ? " in mode=warm" : ""
    } with ${kind} hooks gets what prep/script gave, hook by hook`,
    ignore,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      assert.ok(reference, "the prep/script reference run failed");
      const got = byJob(await runUnder(name, "prep/deno", kind, warm));
      assert.deepEqual([...got.keys()].sort(), [...reference.keys()].sort());
      for (const [key, env] of reference) assert.deepEqual(got.get(key), env, key);
      if (warm) {
        // Every hook went through the service: none fell back.
        for (const d of ["slurmd", "slurmctld"] as const) {
          assert.doesNotMatch(daemonLog(d), /warm service at .* not answering/, d);
          // The settings line says the mode; each run's info line says where it ran.
          assert.match(daemonLog(d), /prep\/deno: settings: runner=\S+ mode=warm /, d);
          assert.match(daemonLog(d), /prep\/deno: \S+ \S+\.ts job \d+: .* in \d+ ms \(warm\)$/m, d);
          assert.doesNotMatch(daemonLog(d), /prep\/deno: \S+ \S+\.ts job \d+: .* \(spawn\)$/m, d);
        }
      }
    },
  });
}

Deno.test({
  name: "slurm cluster: stop ends the daemons it started, by pid, and nothing else",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // A process that only looks like a daemon, by executable name and by
    // command line (what pkill and pkill -f match): stop must not touch it.
    const dir = Deno.makeTempDirSync();
    Deno.copyFileSync("/usr/bin/sleep", `${dir}/slurmd`);
    const decoy = new Deno.Command(`${dir}/slurmd`, { args: ["300"] }).spawn();
    try {
      const stopped = await stopCluster();
      assert.ok(stopped.length >= 2, "no daemon pids were recorded");
      let decoyAlive = true;
      try {
        Deno.kill(decoy.pid, "SIGCONT");
      } catch {
        decoyAlive = false;
      }
      assert.ok(decoyAlive, "stop killed a process it did not start (a process named slurmd)");
    } finally {
      try {
        decoy.kill("SIGKILL");
      } catch { /* already gone: the assertion says why */ }
      await decoy.status;
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
