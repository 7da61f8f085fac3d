// SPDX-License-Identifier: GPL-2.0-or-later
// One set of bounds for every number of PrEpParameters and the runner's flags
// (src/contract.ts NUMBERS, ffi/prep_deno_contract.h PD_NUMBERS): the plugin's
// check and the TypeScript one give the same answer and the same words; a bad
// value stops the plugin at init() naming the key, the value and the range;
// the runner's parsers (the native launcher's and Deno's) refuse it too.
import assert from "node:assert/strict";
import { join } from "node:path";
import { PrepPlugin } from "../../ffi/mod.ts";
import { type NumberKey, numberProblem, NUMBERS } from "../../src/contract.ts";
import { PREP_DENO, prepDenoRaw, TOP } from "../helpers.ts";

const SO = join(TOP, "build", "prep_deno.so");
const KEYS = Object.keys(NUMBERS) as NumberKey[];

/** Values every number refuses, and the edges of each range. */
function values(key: NumberKey): string[] {
  const n = NUMBERS[key];
  return [
    String(n.min),
    String(n.max),
    String(n.min - 1),
    String(n.max + 1),
    "0",
    "-5",
    "-0",
    "+64",
    "abc",
    "",
    "64abc",
    " 64",
    "6.4e1",
    "0x100",
    "4294967360", // wraps to 64 in 32 bits
    "18446744073709551680", // wraps to 64 in 64 bits
    "99999999999999999999999999",
    "9".repeat(100),
  ];
}

Deno.test("numbers: the plugin's check and src/contract.ts agree on every value, in the same words", async () => {
  await using plugin = PrepPlugin.open(SO);
  for (const key of KEYS) {
    for (const v of values(key)) {
      const c = plugin.checkNumber(key, v);
      const problem = numberProblem(key, v);
      if (problem === undefined) assert.deepEqual(c, { value: Number(v) }, `${key}=${v}`);
      else assert.deepEqual(c, { error: problem }, `${key}=${v}`);
    }
  }
  assert.deepEqual(plugin.checkNumber("heap_mb", "-5"), {
    error: "heap_mb=-5: not a whole number from 32 to 1048576",
  });
});

/** init() of a fresh plugin in its own process, with `params`: its status and log. */
async function initWith(params: string): Promise<{ rc: number; log: string }> {
  const dir = Deno.makeTempDirSync({ dir: "/var/tmp", prefix: "prep-deno-numbers-" });
  try {
    const conf = join(dir, "slurm.conf");
    Deno.writeTextFileSync(
      conf,
      [
        "ClusterName=ffi",
        "SlurmctldHost=localhost",
        `PrEpParameters=runner=${PREP_DENO}${params}`,
        "NodeName=vm CPUs=1",
        "PartitionName=debug Nodes=vm",
      ].join("\n") + "\n",
    );
    // Slurm logs to stderr outside a daemon: one process per init().
    const code = `
      import { PrepPlugin } from ${JSON.stringify(join(TOP, "ffi", "mod.ts"))};
      const p = PrepPlugin.open(${JSON.stringify(SO)});
      p.loadConf(${JSON.stringify(conf)});
      const rc = p.init();
      console.log(JSON.stringify({ rc }));`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--quiet", "--no-config", "--unstable-ffi", code],
      env: { NO_COLOR: "1" },
    }).output();
    const d = new TextDecoder();
    const { rc } = JSON.parse(d.decode(out.stdout).trim().split("\n").at(-1) ?? "{}");
    return { rc, log: d.decode(out.stderr) };
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("numbers: a bad number in PrEpParameters stops the plugin at init(), naming key, value and range", async () => {
  const bad = await initWith(
    ",heap_mb=-5,memory_mb=99999999999999999999,tasks_max=abc,heap_mb=0x40",
  );
  assert.notEqual(bad.rc, 0, bad.log);
  for (
    const line of [
      "PrEpParameters: heap_mb=-5: not a whole number from 32 to 1048576",
      "PrEpParameters: memory_mb=99999999999999999999: not a whole number from 128 to 16777216",
      "PrEpParameters: tasks_max=abc: not a whole number from 64 to 4194304",
      "PrEpParameters: heap_mb=0x40: not a whole number from 32 to 1048576",
      "PrEpParameters has a bad number (above); not starting",
    ]
  ) assert.ok(bad.log.includes(`error: prep/deno: ${line}`), `${line}\n${bad.log}`);
  const good = await initWith(",heap_mb=64,memory_mb=300,tasks_max=512");
  assert.equal(good.rc, 0, good.log);
  assert.doesNotMatch(good.log, /error:/);
});

Deno.test("numbers: tasks_max reaches the runner as --tasks-max", async () => {
  await using plugin = PrepPlugin.open(SO);
  assert.deepEqual(
    plugin.hookArgv(
      { runner: "/r", timeoutSeconds: 9, heapMb: 64, memoryMb: 300, tasksMax: 512 },
      "/h/p.ts",
    ),
    [
      "/r",
      "run",
      "/h/p.ts",
      "--outcome-fd",
      "3",
      "--timeout",
      "9",
      "--heap-mb",
      "64",
      "--memory-mb",
      "300",
      "--tasks-max",
      "512",
    ],
  );
});

Deno.test("numbers: the runner's parsers refuse what the plugin refuses, in the same words", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "prep-deno-numbers-" });
  try {
    const hook = join(dir, "hook.ts");
    Deno.writeTextFileSync(hook, "export default () => {};\n");
    const env = { SLURM_SCRIPT_CONTEXT: "prolog_slurmd", SLURM_JOB_ID: "1", PATH: "/usr/bin:/bin" };
    for (const key of KEYS) {
      const flag = NUMBERS[key].flag;
      for (const v of values(key).filter((v) => numberProblem(key, v) && !v.startsWith("-"))) {
        const want = `${numberProblem(key, v, "flag")} (PrEpParameters ${key})`;
        // `run` as the plugin runs it (the launcher's fast path hands it to Deno).
        const run = await prepDenoRaw(["run", hook, flag, v], env);
        assert.equal(run.code, 2, `run ${flag} ${v}: ${run.stderr}`);
        assert.ok(run.stderr.includes(`prep-deno run: ${want}`), `run ${flag} ${v}: ${run.stderr}`);
        // __exec (try, the warm service): the launcher's own words.
        const exec = await prepDenoRaw(["__exec", flag, v], env);
        assert.equal(exec.code, 2, `__exec ${flag} ${v}: ${exec.stderr}`);
        assert.equal(exec.stderr, `prep-deno __exec: ${want}\n`);
        // serve.
        const serve = await prepDenoRaw(["serve", "--socket", join(dir, "s.sock"), flag, v], env);
        assert.equal(serve.code, 2, `serve ${flag} ${v}: ${serve.stderr}`);
        assert.ok(serve.stderr.includes(`prep-deno serve: ${want}`), serve.stderr);
      }
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
