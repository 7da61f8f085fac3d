// SPDX-License-Identifier: GPL-2.0-or-later
// The journal and metrics the plugin's core writes after every hook run,
// through the real plugin (Deno.dlopen): many hooks finishing at once lose
// and tear nothing; a process SIGKILLed among running hooks keeps every
// record of a hook it had finished; output is bounded with the bytes
// dropped counted; the textfile is whole after every run.
import assert from "node:assert/strict";
import { join } from "node:path";
import { PrepPlugin } from "../../ffi/mod.ts";
import { readJournal } from "../../src/journal/read.ts";
import { PREP_DENO, TOP } from "../helpers.ts";

const SO = join(TOP, "build", "prep_deno.so");

function setUp(extra = "") {
  const dir = Deno.makeTempDirSync({ dir: "/var/tmp", prefix: "prep-deno-journal-" });
  const conf = join(dir, "slurm.conf");
  Deno.writeTextFileSync(
    conf,
    [
      "ClusterName=journal",
      "SlurmctldHost=localhost",
      `PrEpParameters=runner=${PREP_DENO},journal=${dir}/journal,metrics=${dir}/hooks.prom${extra}`,
      "NodeName=vm CPUs=1",
      "PartitionName=debug Nodes=vm",
    ].join("\n") + "\n",
  );
  const hook = (name: string, body: string) => {
    const path = join(dir, name);
    Deno.writeTextFileSync(path, `#!/bin/bash\n${body}\n`, { mode: 0o755 });
    Deno.chmodSync(path, 0o755);
    return path;
  };
  return { dir, conf, hook };
}

Deno.test("journal: 48 hooks finishing at once, 60 KiB of output each: 48 whole records", async () => {
  const { dir, conf, hook } = setUp();
  try {
    await using plugin = PrepPlugin.open(SO);
    plugin.loadConf(conf);
    plugin.init();
    const ok = hook("ok.sh", `head -c 61440 /dev/zero | tr '\\0' "$SLURM_JOB_ID"; exit 0`);
    const bad = hook("bad.sh", `echo "disk full on $SLURM_JOB_ID"; exit 3`);
    const runs = [];
    for (let job = 1; job <= 48; job++) {
      const path = job % 3 ? ok : bad;
      runs.push(plugin.runHooksAsync(
        { runner: PREP_DENO, concurrent: true },
        [path],
        {
          SLURM_SCRIPT_CONTEXT: "prolog_slurmctld",
          SLURM_JOB_ID: String(job % 10),
          SLURM_JOB_USER: "ann",
        },
        job,
      ));
    }
    await Promise.all(runs);
    const j = await readJournal(join(dir, "journal"));
    assert.equal(j.torn, 0);
    assert.equal(j.runs.length, 48);
    for (const r of j.runs) {
      assert.equal(r.hook, "prolog_slurmctld");
      assert.equal(r.user, "ann");
      assert.equal(r.mode, "script");
      if (r.module === ok) {
        assert.equal(r.kind, "ok");
        assert.equal(r.output, String(r.job).repeat(61440));
      } else {
        assert.equal(r.kind, "exit");
        assert.equal(r.exit, 3);
        assert.equal(r.cause, "exit status 3");
        assert.equal(r.output, `disk full on ${r.job}\n`);
      }
    }
    const prom = Deno.readTextFileSync(join(dir, "hooks.prom"));
    assert.match(
      prom,
      new RegExp(
        `prep_deno_hook_runs_total\\{hook="prolog_slurmctld",module="${ok}",mode="script",kind="ok",daemon="slurmd"\\} 32\\n`,
      ),
    );
    assert.match(
      prom,
      new RegExp(
        `prep_deno_hook_failures_total\\{hook="prolog_slurmctld",module="${bad}",mode="script",kind="exit",daemon="slurmd"\\} 16\\n`,
      ),
    );
    assert.match(
      prom,
      new RegExp(
        `prep_deno_hook_duration_seconds_count\\{hook="prolog_slurmctld",module="${ok}",mode="script",daemon="slurmd"\\} 32\\n`,
      ),
    );
    assert.deepEqual([...Deno.readDirSync(dir)].filter((e) => e.name.includes(".tmp.")), []);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("journal: output past journal_output_kb is dropped and counted", async () => {
  const { dir, conf, hook } = setUp(",journal_output_kb=1,journal_max_mb=1");
  try {
    await using plugin = PrepPlugin.open(SO);
    plugin.loadConf(conf);
    plugin.init();
    const loud = hook("loud.sh", `head -c 5000 /dev/zero | tr '\\0' x; exit 0`);
    const env = { SLURM_SCRIPT_CONTEXT: "epilog_slurmd", SLURM_JOB_ID: "5" };
    await plugin.runHooks({ runner: PREP_DENO }, [loud], env);
    const j = await readJournal(join(dir, "journal"));
    assert.equal(j.runs.length, 1);
    assert.equal(j.runs[0].hook, "epilog");
    assert.equal(j.runs[0].output, "x".repeat(1024));
    assert.equal(j.runs[0].output_dropped, 5000 - 1024);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("journal: past half of journal_max_mb the file turns into journal.1, the older half goes", async () => {
  const { dir, conf, hook } = setUp(",journal_output_kb=256,journal_max_mb=1");
  try {
    await using plugin = PrepPlugin.open(SO);
    plugin.loadConf(conf);
    plugin.init();
    const env = { SLURM_SCRIPT_CONTEXT: "epilog_slurmd", SLURM_JOB_ID: "5" };
    const big = hook("big.sh", `head -c 200000 /dev/zero | tr '\\0' y; exit 0`);
    for (let i = 0; i < 8; i++) await plugin.runHooks({ runner: PREP_DENO }, [big], env);
    const size = (f: string) => Deno.statSync(join(dir, f)).size;
    assert.ok(size("journal") < 512 * 1024, `journal: ${size("journal")} bytes`);
    assert.ok(size("journal.1") >= 512 * 1024, `journal.1: ${size("journal.1")} bytes`);
    const j = await readJournal(join(dir, "journal"));
    assert.equal(j.torn, 0);
    // 200 KB records: journal.1 took runs 4-6 (runs 1-3 went with the
    // first journal.1), journal holds 7-8: under 1 MiB plus one record.
    assert.equal(j.runs.length, 5);
    assert.ok(size("journal") + size("journal.1") < 1024 * 1024 + 200_100);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("journal: a process SIGKILLed among running hooks keeps every finished hook's record", async () => {
  const { dir, conf, hook } = setUp();
  try {
    const h = hook(
      "h.sh",
      `head -c 30000 /dev/zero | tr '\\0' z; sleep 0.$((RANDOM % 3)); exit $((SLURM_JOB_ID % 2))`,
    );
    const child = join(dir, "child.ts");
    Deno.writeTextFileSync(
      child,
      `import { PrepPlugin } from ${JSON.stringify(join(TOP, "ffi", "mod.ts"))};
const plugin = PrepPlugin.open(${JSON.stringify(SO)});
plugin.loadConf(${JSON.stringify(conf)});
plugin.init();
let job = 0;
const one = async (): Promise<void> => {
  const id = ++job;
  await plugin.runHooksAsync({ runner: ${JSON.stringify(PREP_DENO)}, concurrent: true }, [${
        JSON.stringify(h)
      }],
    { SLURM_SCRIPT_CONTEXT: "prolog_slurmctld", SLURM_JOB_ID: String(id) }, id);
  console.log(id);
  return one();
};
for (let i = 0; i < 12; i++) one();
`,
    );
    const proc = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", child],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const finished: number[] = [];
    const lines = proc.stdout.pipeThrough(new TextDecoderStream());
    const reader = lines.getReader();
    let buf = "";
    while (finished.length < 60) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      const parts = buf.split("\n");
      buf = parts.pop()!;
      finished.push(...parts.map(Number));
    }
    proc.kill("SIGKILL");
    await proc.status;
    await reader.cancel();
    const j = await readJournal(join(dir, "journal"));
    const have = new Set(j.runs.map((r) => r.job));
    for (const id of finished) assert.ok(have.has(id), `job ${id} finished but has no record`);
    for (const r of j.runs) {
      assert.equal(r.output, "z".repeat(30000));
      assert.equal(r.kind, r.job % 2 ? "exit" : "ok");
    }
    // Hooks still running at the kill: their records may be missing, never half-read.
    assert.ok(j.torn <= 12, `${j.torn} torn`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
