// SPDX-License-Identifier: GPL-2.0-or-later
// spec §2.4/§2.5: the process a shell hook runs as, prep/script against
// prep/deno, for all four hooks: argv, user and groups, working folder,
// umask, stdin, the descriptors it gets, its own process group, the
// signals blocked (slurmd: as its thread; slurmctld: see below).
import assert from "node:assert/strict";
import { join } from "node:path";
import { BASE } from "./hooks.ts";
import { atLeast, sbatch, startCluster, stopCluster, waitFor, waitJobState } from "./cluster.ts";
import { RELEASE } from "./cluster.ts";

/** A test of the release under test; ignored when that release is not built here. */
function test(name: string, fn: () => Promise<void> | void): void {
  Deno.test({ name, ignore: !!RELEASE.missing, fn });
}

const HOOKS = ["prolog", "epilog", "prologSlurmctld", "epilogSlurmctld"] as const;

/** A bash hook recording its process context as key: value lines. */
function recorder(dir: string, name: string): string {
  const path = join(dir, `${name}.sh`);
  Deno.writeTextFileSync(
    path,
    `#!/bin/bash
out=${dir}/${name}.$SLURM_JOB_ID.txt
{
  echo "argv: $0 $*"
  echo "id: $(id)"
  echo "pwd: $(pwd)"
  echo "umask: $(umask)"
  echo "own-pgid: $([ "$(ps -o pgid= -p $$ | tr -d ' ')" = "$$" ] && echo yes || echo no)"
  echo "stdin: $(readlink /proc/$$/fd/0)"
  echo "stdout-is-pipe: $(readlink /proc/$$/fd/1 | grep -q '^pipe:' && echo yes || echo no)"
  echo "same-pipe: $([ "$(readlink /proc/$$/fd/1)" = "$(readlink /proc/$$/fd/2)" ] && echo yes || echo no)"
  echo "other-fds: $(ls /proc/$$/fd | grep -vxE '0|1|2|255' | tr '\\n' ' ')"
  grep -E '^(SigBlk|SigIgn)' /proc/$$/status | tr '\\t' ' '
} > $out.tmp 2>&1
mv $out.tmp $out
`,
  );
  Deno.chmodSync(path, 0o755);
  return path;
}

function parse(text: string): Record<string, string> {
  return Object.fromEntries(
    text.trim().split("\n").map((l) => {
      const i = l.indexOf(":");
      return [l.slice(0, i), l.slice(i + 1).trim()];
    }),
  );
}

async function record(plugin: "prep/script" | "prep/deno") {
  const dir = join(BASE, "spec", `process-${plugin.replace("/", "-")}`);
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch { /* first run */ }
  Deno.mkdirSync(dir, { recursive: true });
  const paths = Object.fromEntries(HOOKS.map((h) => [h, recorder(dir, h)]));
  await startCluster({ plugin, ...paths, timeout: 30 });
  try {
    const id = await sbatch(["--wrap", "true"]);
    await waitJobState(id, ["COMPLETED"]);
    const out: Record<string, Record<string, string>> = {};
    for (const h of HOOKS) {
      const file = join(dir, `${h}.${id}.txt`);
      out[h] = await waitFor(`${h}'s record`, () => {
        try {
          return Promise.resolve(parse(Deno.readTextFileSync(file)));
        } catch {
          return Promise.resolve(undefined);
        }
      });
      // The paths differ by folder only.
      out[h].argv = out[h].argv.replace(dir, "DIR");
    }
    return out;
  } finally {
    await stopCluster();
  }
}

test("spec §2.4/§2.5: a shell hook's process is the same under prep/script and prep/deno", async () => {
  const ref = await record("prep/script");
  const got = await record("prep/deno");
  for (const h of HOOKS) {
    // As measured on 22.05.8: argv only the path, root, /dev/null in, one pipe out.
    assert.equal(ref[h].argv, `DIR/${h}.sh`, h);
    assert.equal(ref[h].stdin, "/dev/null", h);
    assert.equal(ref[h]["own-pgid"], "yes", h);
    assert.equal(ref[h]["same-pipe"], "yes", h);
    const { SigBlk: refMask, ...refRest } = ref[h];
    const { SigBlk: gotMask, ...gotRest } = got[h];
    assert.deepEqual(gotRest, refRest, `${h}: prep/deno differs from prep/script`);
    // Masks are inherited from the daemon thread that runs the hook, and
    // slurmd's threads differ among themselves (some also block INT and
    // TERM), so only what every run shows is compared: slurmd hooks have
    // SIGPIPE blocked; slurmctld hooks have SIGTERM blocked (slurmscriptd's
    // threads; slurmctld's own for prep/deno), so a timeout's SIGTERM waits
    // and the SIGKILL 10 ms later ends them ("exit status 0:9").
    // From 24.05.5 prep/script's scripts start through Slurm's script
    // launcher (a re-exec of the daemon) with neither SIGPIPE nor SIGTERM
    // blocked; prep/deno's children reset their mask the same way there.
    const slurmd = h === "prolog" || h === "epilog";
    const bitSet = (mask: string, bit: number) =>
      ((BigInt(`0x${mask}`) >> BigInt(bit - 1)) & 1n) === 1n;
    if (atLeast("24.05")) {
      for (const [who, mask] of [["prep/script", refMask], ["prep/deno", gotMask]]) {
        assert.ok(!bitSet(mask, 13) && !bitSet(mask, 15), `${h} under ${who}: mask ${mask}`);
      }
      continue;
    }
    const bit = slurmd ? 13 : 15;
    for (const [who, mask] of [["prep/script", refMask], ["prep/deno", gotMask]]) {
      assert.ok((BigInt(`0x${mask}`) >> BigInt(bit - 1)) & 1n, `${h} under ${who}: mask ${mask}`);
    }
  }
});
