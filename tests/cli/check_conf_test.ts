// SPDX-License-Identifier: GPL-2.0-or-later
// `prep-deno check --slurm-conf` as a lint: over a fixture tree whose
// slurm.conf names one broken hook per kind of problem, each is found (one
// line naming file, key and fix; --json alike) and the status is 1; over a
// clean tree, nothing is found and the status is 0.
import assert from "node:assert/strict";
import { join } from "node:path";
import { PREP_DENO, prepDeno, writeFiles } from "../helpers.ts";

const GOOD = `import type { JobContext } from "prep-deno";
export function prolog(job: JobContext) {
  if (job.partition === "debug") return 1;
}
export const epilog = prolog;
`;

interface JsonProblem {
  file: string;
  key: string;
  problem: string;
  fix: string;
}

Deno.test("check --slurm-conf: every problem of a fixture tree, then a clean one", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "prep-deno-lint-" });
  try {
    writeFiles(dir, {
      "good/hook.ts": GOOD,
      "good/deno.json": JSON.stringify({ permissions: { default: {} } }),
      "typo/hook.ts": GOOD,
      "typo/deno.json": JSON.stringify({ permisions: { default: { read: ["/etc"] } } }),
      "warm/hook.ts": GOOD,
      "warm/deno.json": JSON.stringify({ warm: { mod: "reuse" } }),
      "types/hook.ts": GOOD.replace("job.partition", "job.partitoin"),
      "types/deno.json": "{}",
      "exports/hook.ts": GOOD,
      "exports/deno.json": "{}",
      "grants/hook.ts": GOOD,
      "grants/deno.json": JSON.stringify({
        permissions: { default: { read: [join(dir, "no-such-folder")] } },
      }),
      "script.sh": "#!/bin/sh\ntrue\n",
      "slurm.conf": [
        "PrEpPlugins=prep/deno",
        "Prolog=good/*.ts",
        "Prolog=typo/hook.ts",
        "Prolog=warm/hook.ts",
        "Prolog=types/hook.ts",
        "Prolog=grants/hook.ts",
        "Prolog=nothing/*.ts",
        "Epilog=script.sh",
        "PrologSlurmctld=exports/hook.ts",
        "PrEpParameters=runner=/nonexistent/prep-deno,mode=warm,socket=/nonexistent.sock,heapmb=3",
        "",
      ].join("\n"),
      "clean.conf": [
        "PrEpPlugins=prep/deno",
        "Prolog=good/*.ts",
        `Epilog=${join(dir, "good/hook.ts")}`,
        `PrEpParameters=runner=${PREP_DENO}`,
        "",
      ].join("\n"),
    });
    Deno.chmodSync(join(dir, "script.sh"), 0o644); // not executable: a problem
    const conf = join(dir, "slurm.conf");
    const r = await prepDeno(["check", "--slurm-conf", conf]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const expected: [string, RegExp][] = [
      [conf, /: Prolog: Prolog=nothing\/\*\.ts matches no file; .*; fix: /],
      [
        join(dir, "typo/deno.json"),
        /: permisions: is not a key prep-deno knows; fix: did you mean "permissions"\?/,
      ],
      [
        join(dir, "warm/deno.json"),
        /: warm\.mod: is unknown; fix: did you mean "mode"\?/,
      ],
      [
        join(dir, "types/hook.ts"),
        /:3:11: types: Property 'partitoin' does not exist .*\(TS2551\); fix: /,
      ],
      [join(dir, "grants/deno.json"), /: policy: grant refused: \S+no-such-folder does not exist/],
      [
        join(dir, "script.sh"),
        /: Epilog: is a script hook that is not an executable file; fix: chmod \+x/,
      ],
      [
        join(dir, "exports/hook.ts"),
        /: exports: no export "prologSlurmctld" and no default export, but PrologSlurmctld=exports\/hook\.ts in \S+ runs it; fix: export function prologSlurmctld/,
      ],
      [conf, /: PrEpParameters: unknown "heapmb=3"; fix: did you mean "heap_mb"\?/],
      ["/nonexistent/prep-deno", /: runner: the runner is not installed here .*; fix: /],
      ["/nonexistent.sock", /: mode=warm: the warm service does not answer on its socket.*; fix: /],
    ];
    const lines = r.stdout.trim().split("\n");
    for (const [file, pattern] of expected) {
      assert.ok(
        lines.some((l) => l.startsWith(file) && pattern.test(l.slice(file.length))),
        `${file} ${pattern} in:\n${r.stdout}`,
      );
    }
    assert.equal(lines.length, expected.length, r.stdout);
    // The good hook and the glob that found it: nothing said.
    assert.doesNotMatch(r.stdout, /good\/hook\.ts/);

    const json = await prepDeno(["check", "--slurm-conf", conf, "--json"]);
    assert.equal(json.code, 1);
    const parsed = JSON.parse(json.stdout) as { slurmConf: string; problems: JsonProblem[] };
    assert.equal(parsed.slurmConf, conf);
    assert.equal(parsed.problems.length, expected.length);
    assert.ok(parsed.problems.some((p) => p.key === "warm.mod" && /"mode"/.test(p.fix)));

    const clean = await prepDeno(["check", "--slurm-conf", join(dir, "clean.conf")]);
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);
    assert.equal(clean.stdout, `${join(dir, "clean.conf")}: no problems\n`);
    // Without FILE: the one Slurm reads (SLURM_CONF here).
    const byEnv = await prepDeno(["check", "--slurm-conf"], {
      SLURM_CONF: join(dir, "clean.conf"),
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    });
    assert.equal(byEnv.code, 0, byEnv.stdout + byEnv.stderr);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
