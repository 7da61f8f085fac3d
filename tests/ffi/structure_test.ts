// SPDX-License-Identifier: GPL-2.0-or-later
// The C plugin's structure, drawn from its own #includes: the ABI glue on
// top, the slurmd and slurmctld sides below it, the shared config below
// them, the Slurm-free core at the bottom; nothing includes upwards or
// across the sides; release checks live in one header.
import assert from "node:assert/strict";
import { join } from "node:path";
import { contractHeaders, staleContractHeaders } from "../../src/contract_c.ts";
import { TOP } from "../helpers.ts";

const FFI = join(TOP, "ffi");

/** Layer of each file of the plugin; a file may include only its own layer or lower. */
function layer(file: string): { rank: number; side?: string } {
  if (file === "prep_deno.c" || file === "prep_deno_ffi.c") return { rank: 4 };
  if (/^prep_deno_(slurmd|drain)/.test(file)) return { rank: 3, side: "slurmd" };
  if (/^prep_deno_slurmctld/.test(file)) return { rank: 3, side: "slurmctld" };
  if (/^prep_deno_(conf|version)/.test(file)) return { rank: 2 };
  return { rank: 1 }; // the core
}

const files = [...Deno.readDirSync(FFI)]
  .map((e) => e.name)
  .filter((n) => /\.[ch]$/.test(n));

Deno.test("structure: every #include of the plugin points down, none across the sides", () => {
  const bad: string[] = [];
  for (const f of files) {
    const me = layer(f);
    const text = Deno.readTextFileSync(join(FFI, f));
    for (const m of text.matchAll(/#include "([^"]+)"/g)) {
      const inc = m[1];
      if (!inc.startsWith("prep_deno")) {
        // Slurm's headers: never in the core.
        if (me.rank === 1) bad.push(`${f} (core) includes Slurm's ${inc}`);
        continue;
      }
      const it = layer(inc);
      if (it.rank > me.rank) bad.push(`${f} includes ${inc}, a layer above it`);
      if (me.side && it.side && me.side !== it.side) {
        bad.push(`${f} includes ${inc}, the other side`);
      }
    }
  }
  assert.deepEqual(bad, []);
});

Deno.test("structure: release checks only in prep_deno_version.h; no file over 500 lines", () => {
  for (const f of files) {
    const text = Deno.readTextFileSync(join(FFI, f));
    if (f !== "prep_deno_version.h") {
      assert.doesNotMatch(text, /SLURM_VERSION_NUM\(/, `${f} compares Slurm versions itself`);
    }
    assert.ok(text.split("\n").length <= 500, `${f} has more than 500 lines`);
  }
  for (const f of [...Deno.readDirSync(FFI)].filter((e) => e.name.endsWith(".ts"))) {
    const n = Deno.readTextFileSync(join(FFI, f.name)).split("\n").length;
    assert.ok(n <= 500, `${f.name} has ${n} lines`);
  }
});

Deno.test("structure: the C contract headers are what src/contract.ts generates", () => {
  // Stale: run `deno task build`, which writes them (src/contract_c.ts).
  assert.deepEqual(staleContractHeaders(TOP), []);
  // Each is marked generated, and the plugin's carries the shared facts.
  for (const h of contractHeaders()) {
    assert.match(Deno.readTextFileSync(join(TOP, h.path)), /GENERATED from src\/contract\.ts/);
  }
  const plugin = Deno.readTextFileSync(join(FFI, "prep_deno_contract.h"));
  assert.match(plugin, /#define PD_HOOK_CONTEXTS\(X\)/);
  assert.match(plugin, /#define PD_DEFAULT_RUNNER "\/usr\/local\/sbin\/prep-deno"/);
  // No C file keeps its own copy of the hook/context map.
  for (const dir of [FFI, join(TOP, "src", "launcher")]) {
    for (const e of Deno.readDirSync(dir)) {
      if (!/\.c$/.test(e.name)) continue;
      const text = Deno.readTextFileSync(join(dir, e.name));
      assert.doesNotMatch(text, /"prologSlurmctld"/, `${e.name} spells the hook map itself`);
    }
  }
});

Deno.test("structure: src/ is grouped by part; its top holds the faces and the shared modules only", () => {
  const SRC = join(TOP, "src");
  const top = [...Deno.readDirSync(SRC)].filter((e) => e.isFile).map((e) => e.name).sort();
  // The faces (the import map, `init` and the package name them here), the
  // contract, and modules every part uses; anything else belongs in a folder.
  assert.deepEqual(top, [
    "bytes.ts",
    "contract.ts",
    "contract_c.ts",
    "main.ts",
    "mod.ts",
    "plugin_file.ts",
    "self_command.ts",
    "testing.ts",
    "testing_test.ts",
    "types.ts",
  ]);
  // Every folder of src/ is in the layout of docs/architecture.md, and back.
  const layout = Deno.readTextFileSync(join(TOP, "docs", "architecture.md"));
  const folders = [...Deno.readDirSync(SRC)].filter((e) => e.isDirectory).map((e) => e.name);
  for (const f of folders) assert.match(layout, new RegExp(`\`src/${f}/\``), `src/${f}/`);
  for (const m of layout.matchAll(/`src\/([a-z_]+)\/`/g)) {
    assert.ok(folders.includes(m[1]), `docs/architecture.md names src/${m[1]}/, which is gone`);
  }
  // The walls, the job and the outcome: what moved there stays there.
  for (
    const [dir, file] of [["sandbox", "policy.ts"], ["job", "context.ts"], [
      "outcome",
      "hook_call.ts",
    ]]
  ) {
    assert.ok(Deno.statSync(join(SRC, dir, file)).isFile, `src/${dir}/${file}`);
  }
});
