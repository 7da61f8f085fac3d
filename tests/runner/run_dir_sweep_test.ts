// SPDX-License-Identifier: GPL-2.0-or-later
// The run dir (/run/prep-deno, a tmpfs in memory) does not grow with what
// runs leave behind: a launcher killed with SIGKILL never removes its status
// file, and the plan cache is keyed by module, so each removed hook left its
// plan there until the node rebooted. The next launch sweeps files of
// launchers that are gone; making a plan drops (in a process of its own,
// never holding the hook) the plans of modules that are gone, and their locks.
import assert from "node:assert/strict";
import { join } from "node:path";
import { fakeJobEnv } from "../../src/job/slurm_vars.ts";
import { LAUNCHER } from "../../src/contract.ts";
import { PREP_DENO, prepDeno, writeFiles } from "../helpers.ts";

const env = fakeJobEnv("prolog_slurmd", { id: 41 });
const STATUS = join(LAUNCHER.RUN_DIR, "status");
const PLANS = join(LAUNCHER.RUN_DIR, "plans");

function names(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].map((e) => e.name);
  } catch {
    return [];
  }
}

/** The plan files (and locks) of `module`: those whose first line names it. */
function plansOf(module: string): string[] {
  return names(PLANS).filter((n) => /^[0-9a-f]{16}$/.test(n)).filter((n) => {
    try {
      return Deno.readTextFileSync(join(PLANS, n)).split("\n")[0] === module;
    } catch {
      return false;
    }
  });
}

function hook(dir: string, body: string): string {
  return writeFiles(dir, {
    "hook.ts": body,
    "deno.json": JSON.stringify({ permissions: {} }),
  });
}

Deno.test({
  name: "run dir: a launcher killed with SIGKILL leaves its status file only until the next launch",
  ignore: Deno.uid() !== 0,
  async fn() {
    const dir = Deno.makeTempDirSync({ dir: "/var/tmp", prefix: "prep-deno-sweep-" });
    try {
      const slow = hook(
        join(dir, "slow"),
        `export async function prolog() {
        await new Promise((r) => setTimeout(r, 1500));
      }\n`,
      );
      assert.equal((await prepDeno(["run", slow], env)).code, 0); // its plan, made once
      const child = new Deno.Command(PREP_DENO, {
        args: ["run", slow],
        env,
        stdout: "null",
        stderr: "null",
      }).spawn();
      const mine = () => names(STATUS).filter((n) => n.startsWith(`${child.pid}-`));
      for (let i = 0; i < 200 && !mine().length; i++) await new Promise((r) => setTimeout(r, 10));
      const left = mine();
      assert.equal(left.length, 1, "the launcher's status file, named for its pid");
      child.kill("SIGKILL");
      await child.status;
      assert.ok(names(STATUS).includes(left[0]), "a killed launcher cannot remove its file");
      await new Promise((r) => setTimeout(r, 1700)); // its hook ends on its own
      const quick = hook(join(dir, "quick"), `export function prolog() {}\n`);
      assert.equal((await prepDeno(["run", quick], env)).code, 0);
      assert.ok(!names(STATUS).includes(left[0]), `${left[0]} is still there`);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "run dir: the plans and locks of a removed module go when the next plan is stored",
  ignore: Deno.uid() !== 0,
  async fn() {
    const dir = Deno.makeTempDirSync({ dir: "/var/tmp", prefix: "prep-deno-sweep-" });
    try {
      const gone = hook(join(dir, "gone"), `export function prolog() {}\n`);
      assert.equal((await prepDeno(["run", gone], env)).code, 0);
      const plans = plansOf(gone);
      assert.equal(plans.length, 1, "one plan for the module");
      assert.ok(names(PLANS).includes(`${plans[0]}.lock`), "and its lock");
      Deno.removeSync(join(dir, "gone"), { recursive: true });
      const kept = hook(join(dir, "kept"), `export function prolog() {}\n`);
      assert.equal((await prepDeno(["run", kept], env)).code, 0);
      // The sweep runs beside the hook, never holding it: give it a moment.
      for (let i = 0; i < 100 && names(PLANS).includes(plans[0]); i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(!names(PLANS).includes(plans[0]), "the removed module's plan is still there");
      assert.ok(!names(PLANS).includes(`${plans[0]}.lock`), "its lock is still there");
      assert.equal(plansOf(kept).length, 1, "the new plan stays");
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
