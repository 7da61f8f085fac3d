// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Hook files for the integration suite: recorders that write exactly the
 * environment a hook received (bash: /proc/$$/environ, before bash adds
 * PWD/SHLVL/_; TypeScript: job.env), and hooks that fail on purpose.
 */

import { join } from "node:path";
import { parseEnvEntries } from "../../src/bytes.ts";

/**
 * Where hooks and their records live (outside /tmp: hooks get a private /tmp);
 * one folder per cluster port, so clusters run side by side (CLUSTER_PORT)
 * never share a hook file.
 */
export const BASE = Deno.env.get("CLUSTER_PORT")
  ? `/var/tmp/prep-deno-itest-${Deno.env.get("CLUSTER_PORT")}`
  : "/var/tmp/prep-deno-itest";

// A test file's hooks go when its tests are done (deno test ends each test
// module with "unload"): the host is left as the tests found it.
globalThis.addEventListener("unload", () => {
  try {
    Deno.removeSync(BASE, { recursive: true });
  } catch { /* none made */ }
});

/** One recorded hook run. */
export interface Record {
  context: string;
  jobId: number;
  env: { [name: string]: string };
}

function write(path: string, text: string, mode = 0o755): string {
  Deno.mkdirSync(join(path, ".."), { recursive: true });
  Deno.writeTextFileSync(path, text, { mode });
  Deno.chmodSync(path, mode);
  return path;
}

/** A fresh record folder and recorder hooks writing into it. */
export function recorders(name: string): { dir: string; bash: string; ts: string } {
  const dir = join(BASE, name, "rec");
  try {
    Deno.removeSync(join(BASE, name), { recursive: true });
  } catch { /* first run */ }
  Deno.mkdirSync(dir, { recursive: true });
  const bash = write(
    join(BASE, name, "record.sh"),
    `#!/bin/bash\ncat /proc/$$/environ > "${dir}/$SLURM_SCRIPT_CONTEXT.$SLURM_JOB_ID.$$.env"\n`,
  );
  const ts = write(
    join(BASE, name, "hooks", "record.ts"),
    `export default async (job) => {\n` +
      `  const text = Object.entries(job.env).map(([k, v]) => k + "=" + v + "\\0").join("");\n` +
      `  await Deno.writeTextFile(\`${dir}/\${job.context}.\${job.id}.\${crypto.randomUUID()}.env\`, text);\n` +
      `};\n`,
    0o644,
  );
  write(
    join(BASE, name, "hooks", "deno.json"),
    JSON.stringify({ permissions: { default: { write: [dir] } } }),
    0o644,
  );
  return { dir, bash, ts };
}

/** Reads every record in `dir`. */
export function readRecords(dir: string): Record[] {
  const out: Record[] = [];
  for (const e of Deno.readDirSync(dir)) {
    const [context, id] = e.name.split(".");
    const env = parseEnvEntries(Deno.readFileSync(join(dir, e.name)));
    out.push({ context, jobId: Number(id), env });
  }
  return out;
}

/** A bash hook that prints, then exits with `code` or sleeps `sleep` seconds. */
export function bashHook(name: string, body: string): string {
  return write(join(BASE, "fail", `${name}.sh`), `#!/bin/bash\n${body}\n`);
}

/** A TypeScript hook (all four exports from one default). */
export function tsHook(name: string, body: string): string {
  return write(
    join(BASE, "fail", `${name}.ts`),
    `export default async (job) => {\n${body}\n};\n`,
    0o644,
  );
}
