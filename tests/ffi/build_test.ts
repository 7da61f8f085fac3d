// SPDX-License-Identifier: GPL-2.0-or-later
// The plugin is built for each Slurm it targets (deno task build-plugin,
// run by the test task before this): the installed one, linked, and 24.11.5,
// compiled. Read back from the ELF files themselves.
import assert from "node:assert/strict";
import { join } from "node:path";
import { TOP } from "../helpers.ts";

const ABI = [
  "init",
  "fini",
  "plugin_name",
  "plugin_type",
  "plugin_version",
  "prep_p_register_callbacks",
  "prep_p_prolog",
  "prep_p_epilog",
  "prep_p_prolog_slurmctld",
  "prep_p_epilog_slurmctld",
  "prep_p_required",
];

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args }).output();
  assert.ok(out.success, `${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}

/** The bytes of a defined symbol, read with objdump. */
async function symbolBytes(so: string, name: string, size: number): Promise<Uint8Array> {
  const nm = await run("nm", ["-D", "--defined-only", so]);
  const addr = parseInt(new RegExp(`^([0-9a-f]+) \\w ${name}$`, "m").exec(nm)![1], 16);
  const dump = await run("objdump", [
    "-s",
    "-j",
    ".rodata",
    `--start-address=${addr}`,
    `--stop-address=${addr + size}`,
    so,
  ]);
  const hex = [...dump.matchAll(/^ [0-9a-f]+ ((?:[0-9a-f]{2,8} ?)+)/gm)].map((m) =>
    m[1].replaceAll(" ", "")
  ).join("");
  return Uint8Array.from(hex.match(/../g)!.map((h) => parseInt(h, 16)));
}

function versionNumber(v: string): number {
  const [maj, min, mic] = v.split(".").map(Number);
  return (maj << 16) | (min << 8) | mic;
}

const installed = (await run("dpkg-query", ["-W", "-f=${Version}", "slurmd"])).split("-")[0];

/** 25.11.7 and 26.05.3 come from the shared tarballs: without them, ignored (scripts/test.sh says so). */
const noTarball = (v: string) =>
  !new Deno.Command(join(TOP, "scripts", "slurm-build.sh"), {
    args: ["--tarball", v],
    stderr: "null",
  })
    .outputSync().success;
const builds: [string, string, boolean][] = [
  ["prep_deno.so", installed, false],
  ["prep_deno-24.11.5.so", "24.11.5", false],
  ...["25.11.7", "26.05.3"].map((
    v,
  ): [string, string, boolean] => [`prep_deno-${v}.so`, v, noTarball(v)]),
];
for (const [file, version, ignore] of builds) {
  Deno.test({
    name: `plugin build: ${file} has the whole PrEp ABI and plugin_version of Slurm ${version}`,
    ignore,
  }, async () => {
    const so = join(TOP, "build", file);
    const nm = await run("nm", ["-D", "--defined-only", so]);
    for (const sym of ABI) assert.match(nm, new RegExp(` ${sym}$`, "m"), `${file} lacks ${sym}`);
    const v = new DataView((await symbolBytes(so, "plugin_version", 4)).buffer).getUint32(0, true);
    assert.equal(v, versionNumber(version));
    const type = new TextDecoder().decode(await symbolBytes(so, "plugin_type", 9));
    assert.equal(type, "prep/deno");
  });
}

Deno.test("plugin build: the installed build links libslurmfull with an rpath", async () => {
  const dyn = await run("readelf", ["-d", join(TOP, "build", "prep_deno.so")]);
  assert.match(dyn, /NEEDED.*libslurmfull\.so/);
  assert.match(dyn, /(RPATH|RUNPATH).*slurm-wlm/);
});
