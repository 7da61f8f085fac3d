// SPDX-License-Identifier: GPL-2.0-or-later
import assert from "node:assert/strict";
import { join } from "node:path";
import { BUNDLE_MARKER } from "../sandbox/bundle.ts";
import { configlessProblems } from "./configless_lint.ts";

function inTemp(fn: (dir: string) => void) {
  const dir = Deno.makeTempDirSync();
  try {
    fn(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("configless lint: a bundle, an absolute path and a script are fine", () => {
  inTemp((dir) => {
    const conf = join(dir, "slurm.conf");
    Deno.writeTextFileSync(join(dir, "prolog.ts"), `${BUNDLE_MARKER}{}\nexport {};\n`);
    assert.deepEqual(configlessProblems(conf, "Prolog", "prolog.ts"), []);
    assert.deepEqual(configlessProblems(conf, "Prolog", "/etc/slurm/hooks/prolog.ts"), []);
    assert.deepEqual(configlessProblems(conf, "Prolog", "prolog.sh"), []);
  });
});

Deno.test("configless lint: local imports, a policy left behind, a subfolder: each says to bundle", () => {
  inTemp((dir) => {
    const conf = join(dir, "slurm.conf");
    Deno.writeTextFileSync(join(dir, "epilog.ts"), `import { x } from "../lib.ts";\nexport {};\n`);
    Deno.writeTextFileSync(join(dir, "deno.json"), "{}");
    const p = configlessProblems(conf, "Epilog", "epilog.ts");
    assert.equal(p.length, 2);
    assert.match(p[0].problem, /ships each slurmd this one file alone/);
    assert.match(p[1].problem, /policy deno\.json stays on the controller/);
    assert.match(p[0].fix, new RegExp(`prep-deno bundle DIR -o ${dir}/epilog\\.ts`));
    assert.match(
      configlessProblems(conf, "Prolog", "hooks/prolog.ts")[0].problem,
      /a flat folder/,
    );
  });
});
