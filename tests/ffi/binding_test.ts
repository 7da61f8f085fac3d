// SPDX-License-Identifier: GPL-2.0-or-later
// The plugin through its Deno binding, no daemons: the slurmctld completion
// callback, 200 hooks in flight, the environment, and what is left behind.
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Outcome, PrepCallType, PrepPlugin } from "../../ffi/mod.ts";
import { PREP_DENO, TOP } from "../helpers.ts";

const SO = join(TOP, "build", "prep_deno.so");
const DIR = Deno.makeTempDirSync({ dir: "/var/tmp", prefix: "prep-deno-ffi-" });
const MARK = `prep-deno-ffi-${Deno.pid}`;

function script(name: string, body: string): string {
  const path = join(DIR, name);
  Deno.writeTextFileSync(path, `#!/bin/bash\n${body}\n`, { mode: 0o755 });
  Deno.chmodSync(path, 0o755);
  return path;
}
function module(name: string, body: string): string {
  const path = join(DIR, name);
  Deno.writeTextFileSync(path, `export default async (job) => {\n${body}\n};\n`);
  return path;
}

const plugin = PrepPlugin.open(SO);
// Not a test of its own: every test here may run in any order.
globalThis.addEventListener("unload", () => Deno.removeSync(DIR, { recursive: true }));
const ctldEnv = (id: number) => ({
  SLURM_SCRIPT_CONTEXT: "prolog_slurmctld",
  SLURM_JOB_ID: String(id),
});

async function settled(): Promise<void> {
  for (let i = 0; i < 200 && plugin.inflight() > 0; i++) {
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.equal(plugin.inflight(), 0, "core threads still running");
}

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "binding: init() runs outside a daemon; required() answers as prep/script there",
  ...opts,
  fn() {
    assert.equal(plugin.init(), 0);
    // Not slurmd nor slurmctld: nothing is required, as prep/script answers.
    for (
      const t of [
        PrepCallType.Prolog,
        PrepCallType.Epilog,
        PrepCallType.PrologSlurmctld,
        PrepCallType.EpilogSlurmctld,
      ]
    ) {
      assert.equal(plugin.required(t), false);
    }
    assert.deepEqual(
      plugin.hookArgv({ runner: PREP_DENO, timeoutSeconds: 9, heapMb: 64 }, "/h/p.ts"),
      [
        PREP_DENO,
        "run",
        "/h/p.ts",
        "--outcome-fd",
        "3",
        "--timeout",
        "9",
        "--heap-mb",
        "64",
      ],
    );
    // The daemon's slurm.conf goes to the runner as an argument, never to a script.
    assert.deepEqual(
      plugin.hookArgv({ runner: PREP_DENO, slurmConf: "/x/slurm.conf" }, "/h/p.ts"),
      [PREP_DENO, "run", "/h/p.ts", "--outcome-fd", "3", "--slurm-conf", "/x/slurm.conf"],
    );
    assert.deepEqual(
      plugin.hookArgv({ runner: PREP_DENO, slurmConf: "/x/slurm.conf" }, "/h/p.sh"),
      ["/h/p.sh"],
    );
    assert.deepEqual(plugin.hookArgv({ runner: PREP_DENO }, "/h/p.sh"), ["/h/p.sh"]);
    assert.ok(
      plugin.isModule("/a/b.mts") && plugin.isModule("/a/b.js") && !plugin.isModule("/a.ts/b"),
    );
  },
});

interface Case {
  name: string;
  paths: () => string[];
  runner?: string;
  timeout?: number;
  check: (o: Outcome) => void;
}

const CASES: Case[] = [
  {
    name: "success",
    paths: () => [script("ok.sh", "echo fine")],
    check: (o) => {
      assert.equal(o.status, 0);
      assert.equal(o.output, "fine\n");
    },
  },
  {
    name: "failure",
    paths: () => [script("fail.sh", "echo no >&2; exit 3")],
    check: (o) => {
      assert.equal(o.exitCode, 3);
      assert.equal(o.output, "no\n");
      assert.match(o.failedPath!, /fail\.sh$/);
    },
  },
  {
    name: "timeout of a script",
    timeout: 1,
    paths: () => [script("slow.sh", "sleep 30")],
    check: (o) => {
      assert.equal(o.timedOut, true);
      assert.equal(o.signal, 15);
    },
  },
  {
    name: "timeout of a module (the runner's own)",
    timeout: 1,
    paths: () => [module("slow.ts", "await new Promise(() => setInterval(() => {}, 1000));")],
    check: (o) => {
      assert.equal(o.timedOut, true);
      assert.equal(o.exitCode, 124);
      assert.match(o.log, /timed out after 1 s/);
    },
  },
  {
    name: "missing runner",
    runner: "/nonexistent/prep-deno",
    paths: () => [module("ok.ts", "")],
    check: (o) => {
      assert.equal(o.status, 127);
      assert.match(o.output, /cannot execute \/nonexistent\/prep-deno/);
    },
  },
  {
    name: "missing script",
    paths: () => ["/nonexistent/prolog.sh"],
    check: (o) => assert.equal(o.status, 127),
  },
  {
    name: "runner killed by a signal",
    runner: script("killed-runner.sh", "kill -9 $$"),
    paths: () => [module("ok2.ts", "")],
    check: (o) => {
      assert.equal(o.signal, 9);
    },
  },
  {
    name: "module through the real runner",
    paths: () => [module("real.ts", "console.log('job', job.id, job.context); return 5;")],
    check: (o) => {
      assert.equal(o.exitCode, 5);
      assert.match(o.output, /^job 41 prolog_slurmctld$/m);
    },
  },
];

for (const c of CASES) {
  Deno.test({
    name: `binding: the slurmctld callback arrives exactly once: ${c.name}`,
    ...opts,
    async fn() {
      const before = plugin.duplicateCallbacks;
      const o = await plugin.runHooksAsync(
        { runner: c.runner ?? PREP_DENO, timeoutSeconds: c.timeout ?? 30 },
        c.paths(),
        ctldEnv(41),
        41,
      );
      c.check(o);
      await settled();
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(plugin.duplicateCallbacks, before, "a second callback arrived");
    },
  });
}

Deno.test({
  name: "binding: 200 slurmctld hooks in flight at once all complete, none lost",
  ...opts,
  async fn() {
    const hook = script("many.sh", `sleep 0.2; exit $((SLURM_JOB_ID % 7))`);
    const calls = Array.from({ length: 200 }, (_, i) =>
      plugin.runHooksAsync(
        { runner: PREP_DENO, timeoutSeconds: 60 },
        [hook],
        ctldEnv(1000 + i),
        1000 + i,
      ));
    assert.ok(plugin.inflight() > 0, "the calls returned before their hooks ran");
    const outcomes = await Promise.all(calls);
    outcomes.forEach((o, i) => assert.equal(o.exitCode, (1000 + i) % 7, `call ${i}`));
    await settled();
    assert.equal(plugin.duplicateCallbacks, 0);
  },
});

// What prep/script handed the Prolog of a real job (tests/fixtures).
const FIXTURE = Object.fromEntries(
  Deno.readTextFileSync(join(TOP, "tests/fixtures/prep-script-22.05.8/prolog.txt")).split("\n")
    .map((l) => /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(l)).filter((m) =>
      m && !["PWD", "SHLVL", "_"].includes(m[1])
    )
    .map((m) => [m![1], m![2]]),
);

Deno.test({
  name: "binding: the core builds the Prolog env prep/script built for the same job",
  ...opts,
  fn() {
    const env = plugin.slurmdEnv({
      nodeName: "vm",
      confFile: "$CLUSTER_DIR/slurm.conf",
      clusterName: "ceo",
      jobId: "2",
      uid: "0",
      gid: "0",
      workDir: "/tmp",
      userName: "root",
      nodeList: "vm",
      partition: "debug",
      context: "prolog_slurmd",
      cred: {
        SLURM_JOB_COMMENT: "a comment",
        SLURM_JOB_CPUS_PER_NODE: "1",
        SLURM_JOB_NUM_NODES: "1",
        SLURM_JOB_PARTITION: "debug",
        SLURM_JOB_RESTART_COUNT: "0",
        SLURM_JOB_STDIN: "/dev/null",
        SLURM_JOB_STDOUT: "$CLUSTER_DIR/job-%j.out",
      },
    });
    assert.deepEqual(
      Object.fromEntries(env.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)])),
      FIXTURE,
    );
    // SPANK and GRES go first and Slurm's own values win over them.
    const spanked = plugin.slurmdEnv({
      nodeName: "n",
      confFile: "c",
      clusterName: "k",
      jobId: "3",
      uid: "0",
      gid: "0",
      workDir: "/",
      context: "epilog_slurmd",
      spankEnv: ["SPANK_X=1", "SLURM_JOB_ID=999"],
      gresEnv: ["CUDA_VISIBLE_DEVICES=0,1"],
      exitCode: String(9),
      derivedEc: "0",
    });
    assert.deepEqual(spanked.slice(0, 3), [
      "SPANK_X=1",
      "SLURM_JOB_ID=3",
      "CUDA_VISIBLE_DEVICES=0,1",
    ]);
    assert.ok(
      spanked.includes("SLURM_JOB_EXIT_CODE2=0:9") && spanked.includes("SLURM_JOB_EXIT_CODE=9"),
    );
  },
});

Deno.test({
  name: "binding: prep_p_prolog hands the runner exactly the env the slurmd side builds",
  ...opts,
  async fn() {
    const rec = join(DIR, "rec.env");
    const recorder = script("record.sh", `cat /proc/$$/environ > ${rec}`);
    const conf = join(DIR, "slurm.conf");
    Deno.writeTextFileSync(
      conf,
      [
        "ClusterName=ffi",
        "SlurmctldHost=localhost",
        `Prolog=${recorder}`,
        `PrEpParameters=runner=${PREP_DENO}`,
        "PrologEpilogTimeout=10",
        "NodeName=vm CPUs=1",
        "PartitionName=debug Nodes=vm",
      ].join("\n") + "\n",
    );
    plugin.loadConf(conf);
    plugin.slurmdConf("vm", conf);
    using jobEnv = plugin.jobEnv({
      jobId: 77,
      uid: 0,
      gid: 0,
      userName: "root",
      workDir: "/tmp",
      nodeList: "vm",
      partition: "debug",
    });
    assert.equal(await plugin.prolog(jobEnv.pointer), 0);
    const got = Deno.readTextFileSync(rec).split("\0").filter(Boolean);
    const built = plugin.slurmdEnv({
      nodeName: "vm",
      confFile: conf,
      clusterName: "ffi",
      jobId: "77",
      uid: "0",
      gid: "0",
      workDir: "/tmp",
      userName: "root",
      nodeList: "vm",
      partition: "debug",
      context: "prolog_slurmd",
    });
    assert.deepEqual(got, built);
  },
});

/** Open fds, threads and live children of this process, and marked strays. */
function census() {
  const children =
    [...Deno.readDirSync("/proc")].filter((e) => /^\d+$/.test(e.name)).filter((e) => {
      try {
        const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
        return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === Deno.pid;
      } catch {
        return false;
      }
    }).length;
  const strays = new TextDecoder().decode(
    new Deno.Command("pgrep", { args: ["-f", MARK] }).outputSync().stdout,
  ).trim();
  return {
    fds: [...Deno.readDirSync("/proc/self/fd")].length,
    // The core's own threads; Deno's FFI thread pool grows as it likes.
    coreThreads: [...Deno.readDirSync("/proc/self/task")].filter((t) => {
      try {
        return Deno.readTextFileSync(`/proc/self/task/${t.name}/comm`).trim() === "prep-deno-hook";
      } catch {
        return false;
      }
    }).length,
    children,
    strays,
  };
}

Deno.test({
  name: "binding: no fd, thread, child or stray process is left behind",
  ...opts,
  async fn() {
    // Warm up the pools Deno itself keeps (FFI nonblocking threads).
    await plugin.runHooks({ runner: PREP_DENO }, [script("warm.sh", "true")], {});
    await settled();
    const before = census();
    const straggler = script("straggler.sh", `(exec -a ${MARK} sleep 300) & echo started`);
    const slow = script("slow2.sh", `(exec -a ${MARK} sleep 300) & sleep 30`);
    await Promise.all([
      ...Array.from({ length: 20 }, (_, i) =>
        plugin.runHooksAsync(
          { runner: PREP_DENO, timeoutSeconds: 1 },
          [i % 2 ? straggler : slow],
          ctldEnv(i),
          i,
        )),
      plugin.runHooks({ runner: PREP_DENO, timeoutSeconds: 1 }, [straggler], {}),
      plugin.runHooks({ runner: PREP_DENO, timeoutSeconds: 1 }, [slow], {}),
    ]);
    await settled();
    await new Promise((r) => setTimeout(r, 300));
    const after = census();
    assert.deepEqual(after, before);
    assert.equal(after.strays, "", "a hook's background process survived its hook");
  },
});

Deno.test({
  name: "binding: fini() stops running hooks, and every callback still arrives",
  ...opts,
  async fn() {
    // An instance of its own to close: the other tests keep theirs.
    const closing = PrepPlugin.open(SO);
    const hook = script("forever.sh", "sleep 300");
    const calls = Array.from(
      { length: 5 },
      (_, i) => closing.runHooksAsync({ runner: PREP_DENO }, [hook], ctldEnv(i), i),
    );
    await new Promise((r) => setTimeout(r, 300));
    const left = await closing.shutdown(5000);
    assert.equal(left, 0);
    const outcomes = await Promise.all(calls);
    for (const o of outcomes) assert.equal(o.signal, 9);
    await closing.close();
  },
});
