// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `deno task package`: build/prep-deno_VERSION_ARCH.deb, for the Slurm
 * installed here. The plugin is built again for the package (its default
 * `runner=` is the package's {@linkcode PACKAGED_RUNNER}, not a source
 * install's /usr/local/sbin/prep-deno): nothing is put in /usr/local.
 *
 * Layout (packaging/prep-deno.spec builds an RPM, and its -debuginfo, from the same trees):
 *   /usr/sbin/prep-deno                  -> ../lib/prep-deno/build/prep-deno, the runner's
 *                                        native launcher (build/entry.js beside it); the
 *                                        packaged plugin's default runner=
 *   /usr/lib/prep-deno/build/prep-deno-walk  the helpers' walk tool (docs/security.md)
 *   /usr/lib/prep-deno/deno              the pinned Deno: what the launcher runs, and the
 *                                        deno CLI for `deno test`/`check` (/usr/bin/deno
 *                                        through update-alternatives, never over a site's own)
 *   /usr/lib/prep-deno/src/              the runner's source: mod.ts (hook types), testing.ts,
 *                                        what `prep-deno init`'s import map points to
 *   /usr/lib/prep-deno/ffi/              the plugin's Deno binding (`prep-deno try --plugin`)
 *   /usr/lib/prep-deno/VERSION
 *   SLURM_PLUGIN_DIR/prep_deno.so        the plugin, built for this Slurm (Depends pins it)
 *   /lib/systemd/system/prep-deno-serve.service
 *   /usr/share/man/man{5,8}/             every page of docs/man/
 *   /usr/share/doc/prep-deno/            README.md, copyright (DEP-5), changelog.gz
 *   /usr/share/lintian/overrides/prep-deno  each override with its reason
 *
 * The launcher, the walk tool and the plugin are stripped; their debug symbols are the
 * prep-deno-dbgsym package beside it (scripts/package/strip.ts). The Debian
 * files (maintainer scripts, copyright, changelog, overrides, the default
 * Maintainer) are in packaging/debian/ (scripts/package/debian.ts).
 *
 * Nothing is downloaded at install time: everything is in the package.
 *
 * @module
 */

import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { DEFAULT_RUNNER } from "../src/contract.ts";
import {
  changelog,
  control,
  dbgsymControl,
  debianDir,
  maintainer,
  maintainerScripts,
  md5sums,
  rpmChangelog,
} from "./package/debian.ts";
import { splitDebug } from "./package/strip.ts";

const top = join(dirname(fileURLToPath(import.meta.url)), "..");
const version = Deno.readTextFileSync(join(top, "VERSION")).trim();
/** Where Debian's Slurm looks for plugins (and where libslurmfull is). */
const pluginDir = "/usr/lib/x86_64-linux-gnu/slurm-wlm";
const LIB = "/usr/lib/prep-deno";
/** The packaged plugin's default `runner=` (a source build's is /usr/local/sbin/prep-deno). */
export const PACKAGED_RUNNER = "/usr/sbin/prep-deno";
/** Where a source install's runner is: named so in the docs, rewritten for the package's copies. */
const SOURCE_RUNNER = DEFAULT_RUNNER;

function run(cmd: string, args: string[], opts: { cwd?: string } = {}): string {
  const out = new Deno.Command(cmd, { args, ...opts, stdout: "piped", stderr: "piped" })
    .outputSync();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return text;
}

/** The Debian package that holds the Slurm plugins, and its version. */
function slurmPackage(): { name: string; version: string; upstream: string } {
  const owner = run("dpkg-query", ["-S", `${pluginDir}/libslurmfull.so`]).split(":")[0].trim();
  const v = run("dpkg-query", ["-W", "-f", "${Version}", owner]).trim();
  const upstream = v.replace(/^\d+:/, "").replace(/-[^-]*$/, "");
  return { name: owner, version: v, upstream };
}

function hasDpkg(): boolean {
  try {
    run("dpkg-query", ["--version"]);
    return true;
  } catch {
    return false;
  }
}

/** The Slurm release the plugin was built for, from its plugin_version symbol. */
async function pluginSlurm(so: string): Promise<string> {
  const { slurmVersionOf } = await import("../src/plugin_file.ts");
  return slurmVersionOf(Deno.readFileSync(so));
}

/** Copies the files `keep` accepts; folders only where a file lands (none left empty). */
function copyTree(from: string, to: string, keep: (name: string) => boolean) {
  for (const e of Deno.readDirSync(from)) {
    const src = join(from, e.name);
    if (e.isDirectory) copyTree(src, join(to, e.name), keep);
    else if (e.isFile && keep(e.name)) {
      Deno.mkdirSync(to, { recursive: true });
      Deno.copyFileSync(src, join(to, e.name));
    }
  }
}

function put(root: string, path: string, data: string | Uint8Array, mode = 0o644) {
  const dest = join(root, path);
  Deno.mkdirSync(dirname(dest), { recursive: true });
  if (typeof data === "string") Deno.writeTextFileSync(dest, data);
  else Deno.writeFileSync(dest, data);
  Deno.chmodSync(dest, mode);
}

/**
 * The runner, built as `deno task build` builds it but for its installed
 * place: the staged /usr/lib/prep-deno (the source, scripts/build.ts, the
 * pinned Deno) is bound at /usr/lib/prep-deno and its own build.ts run there
 * on that Deno, so every path the native launcher and the bundled entry
 * carry is the installed one (and no value build.ts hands the compiler is
 * written twice). Then the build inputs are removed again.
 */
function buildRunner(root: string): string {
  const lib = join(root, LIB.slice(1));
  copyTree(
    join(top, "src"),
    join(lib, "src"),
    (n) => /\.(ts|c|h)$/.test(n) && !n.endsWith("_test.ts"),
  );
  put(root, `${LIB}/scripts/build.ts`, Deno.readFileSync(join(top, "scripts", "build.ts")));
  // The pinned Deno: what the runner runs on, and the deno CLI for `deno test`
  // and `prep-deno check` of hooks (postinst offers it as /usr/bin/deno).
  put(root, `${LIB}/deno`, Deno.readFileSync(Deno.execPath()), 0o755);
  let made = false;
  try {
    Deno.mkdirSync(LIB);
    made = true; // a mount point only for the build; removed below
  } catch { /* installed here already: bound over for the build */ }
  try {
    const out = run("bwrap", [
      "--dev-bind",
      "/",
      "/",
      "--bind",
      lib,
      LIB,
      "--",
      `${LIB}/deno`,
      "run",
      "--allow-all",
      "--no-config",
      `${LIB}/scripts/build.ts`,
    ]);
    Deno.removeSync(join(lib, "scripts"), { recursive: true });
    Deno.removeSync(join(lib, "src", "launcher"), { recursive: true });
    Deno.removeSync(join(lib, "src", "walk"), { recursive: true });
    Deno.mkdirSync(join(root, "usr/sbin"), { recursive: true });
    // Relative, as Debian wants links within /usr.
    Deno.symlinkSync(`../lib/prep-deno/build/prep-deno`, join(root, "usr/sbin/prep-deno"));
    return out.trim().split("\n").pop()!.replace(/^build\/prep-deno: /, "");
  } finally {
    if (made) Deno.removeSync(LIB);
  }
}

/** The plugin for the Slurm installed here, its default runner the package's; returns its path. */
function buildPlugin(work: string): string {
  const so = join(work, "prep_deno.so");
  const out = new Deno.Command(join(top, "scripts", "build-plugin.sh"), {
    env: { PREP_DENO_RUNNER: PACKAGED_RUNNER, PREP_DENO_PLUGIN_OUT: so },
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  if (!out.success) {
    throw new Error(`scripts/build-plugin.sh: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return so;
}

/** Builds the tree under `root`; returns what the control file needs. */
async function stage(root: string, so: string) {
  const built = await pluginSlurm(so);
  // Without dpkg (an RPM host), the plugin's own release is the pin.
  const slurm = hasDpkg() ? slurmPackage() : { name: "slurm", version: built, upstream: built };
  if (built !== slurm.upstream) {
    throw new Error(
      `the plugin is for Slurm ${built} but ${slurm.name} ${slurm.version} is installed: run deno task build-plugin`,
    );
  }
  const runner = buildRunner(root);
  copyTree(
    join(top, "src"),
    join(root, LIB.slice(1), "src"),
    (n) => n.endsWith(".ts") && !n.endsWith("_test.ts"),
  );
  // `prep-deno try --plugin` loads the plugin through its Deno binding.
  copyTree(
    join(top, "ffi"),
    join(root, LIB.slice(1), "ffi"),
    (n) => n.endsWith(".ts") && !n.endsWith("_test.ts"),
  );
  put(root, `${LIB}/VERSION`, `${version}\n`);
  put(root, `${pluginDir}/prep_deno.so`, Deno.readFileSync(so));
  put(
    root,
    "/lib/systemd/system/prep-deno-serve.service",
    Deno.readTextFileSync(join(top, "scripts", "prep-deno-serve.service"))
      .replaceAll(SOURCE_RUNNER, PACKAGED_RUNNER)
      .replace(/^# Install as .*\n/m, ""),
  );
  for (const page of Deno.readDirSync(join(top, "docs", "man"))) {
    const section = /\.([1-8])$/.exec(page.name)?.[1];
    if (!section) continue;
    put(
      root,
      `/usr/share/man/man${section}/${page.name}.gz`,
      gzipSync(Deno.readFileSync(join(top, "docs", "man", page.name)), { level: 9 }),
    );
  }
  put(root, "/usr/share/doc/prep-deno/README.md", Deno.readFileSync(join(top, "README.md")));
  put(
    root,
    "/usr/share/doc/prep-deno/copyright",
    Deno.readFileSync(join(debianDir(top), "copyright")),
  );
  put(
    root,
    "/usr/share/lintian/overrides/prep-deno",
    Deno.readTextFileSync(join(debianDir(top), "lintian-overrides")),
  );
  return { slurm, runner };
}

function du(dir: string): number {
  let bytes = 0;
  for (const e of Deno.readDirSync(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) bytes += du(p);
    else if (e.isFile) bytes += Deno.statSync(p).size;
  }
  return bytes;
}

/** Builds the RPM from the staged tree with packaging/prep-deno.spec. */
function rpm(root: string, debugRoot: string, slurmVersion: string): string {
  const topdir = join(top, "build", "rpm");
  // The spec with its %changelog made from the Debian changelog.
  const spec = join(top, "build", "package", "prep-deno.spec");
  Deno.writeTextFileSync(
    spec,
    Deno.readTextFileSync(join(top, "packaging", "prep-deno.spec")) +
      rpmChangelog(top, `1.slurm${slurmVersion}`),
  );
  run("rpmbuild", [
    "-bb",
    "--quiet",
    "--define",
    `stage ${root}`,
    "--define",
    `debug_stage ${debugRoot}`,
    "--define",
    `packager ${maintainer(top, Deno.env.toObject())}`,
    "--define",
    `slurm_version ${slurmVersion}`,
    "--define",
    `prep_deno_version ${version}`,
    "--define",
    `_topdir ${topdir}`,
    "--define",
    "_unitdir /usr/lib/systemd/system",
    spec,
  ]);
  const dir = join(topdir, "RPMS", "x86_64");
  const name = [...Deno.readDirSync(dir)].map((e) => e.name).find((n) =>
    n.startsWith(`prep-deno-${version}-1.slurm${slurmVersion}.`)
  );
  return join(dir, name!);
}

if (import.meta.main) {
  const wantRpm = Deno.args.includes("--rpm");
  const work = join(top, "build", "package");
  try {
    Deno.removeSync(work, { recursive: true });
  } catch { /* first time */ }
  const root = join(work, "root");
  Deno.mkdirSync(join(root, "DEBIAN"), { recursive: true });
  const { slurm, runner } = await stage(root, buildPlugin(work));
  // Files under /usr/lib/prep-deno/src are the runner's: root's, not group/other-writable.
  run("chmod", ["-R", "go-w", root]);
  // Debug symbols to a tree of their own (prep-deno-dbgsym, or the RPM's
  // -debuginfo), as dh_strip and find-debuginfo do.
  const dbg = join(work, "dbgsym");
  const buildIds = splitDebug(root, [
    `${LIB.slice(1)}/build/prep-deno`,
    `${LIB.slice(1)}/build/prep-deno-walk`,
    `${pluginDir.slice(1)}/prep_deno.so`,
  ], dbg);
  put(
    root,
    "/usr/share/doc/prep-deno/changelog.gz",
    changelog(top, version, `${version}+slurm${slurm.upstream}`),
  );
  if (wantRpm) {
    const out = rpm(root, dbg, slurm.upstream);
    console.log(
      `${relative(top, out)}: prep-deno ${version} for Slurm ${slurm.upstream}; runner: ${runner}`,
    );
  } else {
    const arch = run("dpkg", ["--print-architecture"]).trim();
    const debVersion = `${version}+slurm${slurm.upstream}`;
    const who = maintainer(top, Deno.env.toObject());
    const sizeKiB = Math.ceil(du(root) / 1024);
    put(
      root,
      "/DEBIAN/control",
      control({ version: debVersion, arch, slurm, sizeKiB, maintainer: who }),
    );
    for (const [name, text] of Object.entries(maintainerScripts(top, LIB))) {
      put(root, `/DEBIAN/${name}`, text, 0o755);
    }
    put(root, "/DEBIAN/md5sums", md5sums(root));
    const deb = join(top, "build", `prep-deno_${debVersion}_${arch}.deb`);
    run("dpkg-deb", ["--root-owner-group", "-Zgzip", "--build", root, deb]);
    // The -dbgsym package: its doc folder is a link to prep-deno's, as debhelper's.
    Deno.mkdirSync(join(dbg, "usr/share/doc"), { recursive: true });
    Deno.symlinkSync("prep-deno", join(dbg, "usr/share/doc/prep-deno-dbgsym"));
    put(
      dbg,
      "/DEBIAN/control",
      dbgsymControl({
        version: debVersion,
        arch,
        sizeKiB: Math.ceil(du(dbg) / 1024),
        maintainer: who,
        buildIds,
      }),
    );
    put(dbg, "/DEBIAN/md5sums", md5sums(dbg));
    run("chmod", ["-R", "go-w", dbg]);
    const ddeb = join(top, "build", `prep-deno-dbgsym_${debVersion}_${arch}.deb`);
    run("dpkg-deb", ["--root-owner-group", "-Zgzip", "--build", dbg, ddeb]);
    console.log(
      `${
        relative(top, deb)
      }: prep-deno ${version} for ${slurm.name} ${slurm.upstream}; runner: ${runner}`,
    );
    console.log(`${relative(top, ddeb)}: its debug symbols`);
  }
}
