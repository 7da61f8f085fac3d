// SPDX-License-Identifier: GPL-2.0-or-later
// `deno task package`: the .deb's layout and Slurm pin, then the package on
// a clean Debian root (debootstrap): dpkg -i, prep-deno init, deno test,
// try and check from the installed files only, then dpkg -r.
import assert from "node:assert/strict";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { TOP } from "../helpers.ts";
import { slurmVersionOf } from "../../src/plugin_file.ts";
import { PrepPlugin } from "../../ffi/mod.ts";
import { PACKAGED_RUNNER } from "../../scripts/package.ts";

const decoder = new TextDecoder();

function sh(script: string, opts: { cwd?: string } = {}) {
  const out = new Deno.Command("/bin/sh", {
    args: ["-c", script],
    cwd: opts.cwd ?? TOP,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

function mustSh(script: string, opts: { cwd?: string } = {}): string {
  const r = sh(script, opts);
  assert.equal(r.code, 0, `${script}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The Slurm installed here, as Debian names it: package and upstream version. */
function installedSlurm(): { name: string; upstream: string } {
  const name = mustSh(
    "dpkg-query -S /usr/lib/x86_64-linux-gnu/slurm-wlm/libslurmfull.so | cut -d: -f1",
  ).trim();
  const upstream = mustSh(`dpkg-query -W -f '\${Version}' ${name}`).trim()
    .replace(/^\d+:/, "").replace(/-[^-]*$/, "");
  return { name, upstream };
}

let built: string | undefined;
/** Builds the package once per run of this file (the package builds its own plugin). */
function deb(): string {
  if (built) return built;
  const out = mustSh(`"${Deno.execPath()}" run --allow-all scripts/package.ts`);
  const name = /^(build\/prep-deno_\S+\.deb):/m.exec(out)?.[1];
  assert.ok(name, out);
  return built = join(TOP, name);
}

/** The -dbgsym package built beside `deb`. */
function dbgsym(deb: string): string {
  return deb.replace(/\/prep-deno_/, "/prep-deno-dbgsym_");
}

Deno.test("package: lintian finds no error in the .deb or its -dbgsym, and every override says why", () => {
  const path = deb();
  if (sh("command -v lintian").code !== 0) {
    mustSh("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq lintian");
  }
  // lintian leaves files of its own in TMPDIR: one of the test's, removed after.
  const tmp = Deno.makeTempDirSync({ prefix: "prep-deno-lintian-" });
  const r = sh(
    `TMPDIR=${tmp} lintian --no-cfg --display-info --show-overrides "${path}" "${dbgsym(path)}"`,
  );
  Deno.removeSync(tmp, { recursive: true });
  const tags = r.stdout.split("\n").filter((l) => /^[EWIO]: /.test(l));
  assert.deepEqual(tags.filter((l) => /^[EW]: /.test(l)), [], r.stdout + r.stderr);
  // Overridden tags are listed with O:, and each override has a comment above it.
  const overrides = Deno.readTextFileSync(join(TOP, "packaging", "debian", "lintian-overrides"))
    .split("\n");
  overrides.forEach((line, i) => {
    if (!line.startsWith("prep-deno:")) return;
    let above = i - 1;
    while (overrides[above]?.startsWith("prep-deno:")) above--;
    assert.match(overrides[above] ?? "", /^#/, `no reason above the override "${line}"`);
  });
});

Deno.test("package: the launcher, the walk tool and the plugin ship stripped, their symbols in -dbgsym by build ID", () => {
  const path = deb();
  const x = Deno.makeTempDirSync({ prefix: "prep-deno-dbg-" });
  try {
    mustSh(`dpkg-deb -x "${path}" "${x}/pkg" && dpkg-deb -x "${dbgsym(path)}" "${x}/dbg"`);
    assert.match(mustSh(`dpkg-deb -f "${dbgsym(path)}" Depends`), /^prep-deno \(= /);
    for (
      const f of [
        "usr/lib/prep-deno/build/prep-deno",
        "usr/lib/prep-deno/build/prep-deno-walk",
        "usr/lib/x86_64-linux-gnu/slurm-wlm/prep_deno.so",
      ]
    ) {
      const file = join(x, "pkg", f);
      assert.doesNotMatch(mustSh(`readelf -S "${file}"`), /\.debug_info/, `${f} is stripped`);
      const id = /Build ID: ([0-9a-f]+)/.exec(mustSh(`readelf -n "${file}"`))![1];
      const debug = join(
        x,
        "dbg",
        "usr/lib/debug/.build-id",
        id.slice(0, 2),
        `${id.slice(2)}.debug`,
      );
      assert.match(mustSh(`readelf -S "${debug}"`), /\.debug_info/, `${f}'s symbols`);
    }
    // dpkg --verify's input: every shipped file, with its checksum.
    const sums = mustSh(
      `cd "${x}/pkg" && dpkg-deb -I "${path}" md5sums | md5sum -c --quiet && echo ok`,
    );
    assert.equal(sums.trim(), "ok");
  } finally {
    Deno.removeSync(x, { recursive: true });
  }
});

Deno.test("package: the .deb holds the runner, types, testing module, plugin, unit and man pages", async () => {
  const path = deb();
  const slurm = installedSlurm();
  const info = mustSh(`dpkg-deb -I "${path}"`);
  const version = Deno.readTextFileSync(join(TOP, "VERSION")).trim();
  assert.match(info, new RegExp(`^ Version: ${version}\\+slurm${slurm.upstream}$`, "m"));
  // Slurm loads a plugin only for its own release: the package says so.
  const [maj, min, micro] = slurm.upstream.split(".");
  assert.match(
    info,
    new RegExp(
      `^ Depends: ${slurm.name} \\(>= ${slurm.upstream}\\), ${slurm.name} \\(<< ${maj}\\.${min}\\.${
        Number(micro) + 1
      }~\\), bubblewrap`,
      "m",
    ),
  );
  const files = mustSh(`dpkg-deb -c "${path}"`);
  for (
    const f of [
      "./usr/sbin/prep-deno -> ../lib/prep-deno/build/prep-deno",
      "./usr/lib/prep-deno/build/prep-deno",
      "./usr/lib/prep-deno/build/prep-deno-walk",
      "./usr/lib/prep-deno/build/entry.js",
      "./usr/lib/prep-deno/deno",
      "./usr/lib/prep-deno/VERSION",
      "./usr/lib/prep-deno/src/main.ts",
      "./usr/lib/prep-deno/src/mod.ts",
      "./usr/lib/prep-deno/src/testing.ts",
      "./usr/lib/prep-deno/src/warm/job_worker.ts",
      "./usr/lib/prep-deno/build/job_worker.js",
      "./usr/lib/x86_64-linux-gnu/slurm-wlm/prep_deno.so",
      "./lib/systemd/system/prep-deno-serve.service",
      "./usr/share/man/man8/prep-deno.8.gz",
      "./usr/share/man/man8/prep_deno.8.gz",
      "./usr/share/doc/prep-deno/README.md",
      "./usr/share/doc/prep-deno/changelog.gz",
      "./usr/share/doc/prep-deno/copyright",
      "./usr/share/lintian/overrides/prep-deno",
      "./usr/lib/prep-deno/ffi/mod.ts",
    ]
  ) assert.ok(files.includes(f), `${f} missing from\n${files}`);
  assert.doesNotMatch(files, /_test\.ts/, "no tests in the package");
  assert.doesNotMatch(
    files,
    /^\S+ +\S+ +\S+ +\S+ +\S+ +\.\/usr\/local\//m,
    "nothing in /usr/local",
  );
  assert.doesNotMatch(files, /^\S+ (?!root\/root)/m, "every file is root's");
  assert.doesNotMatch(files, /^[^l]....w|^[^l].......w/m, "nothing group- or other-writable");

  const x = Deno.makeTempDirSync({ prefix: "prep-deno-deb-" });
  try {
    mustSh(`dpkg-deb -x "${path}" "${x}"`);
    const so = Deno.readFileSync(join(x, "usr/lib/x86_64-linux-gnu/slurm-wlm/prep_deno.so"));
    assert.equal(slurmVersionOf(so), slurm.upstream);
    // The packaged plugin finds the packaged runner with no PrEpParameters.
    const soPath = join(x, "usr/lib/x86_64-linux-gnu/slurm-wlm/prep_deno.so");
    await using plugin = PrepPlugin.open(soPath);
    assert.equal(plugin.contract.defaultRunner, PACKAGED_RUNNER);
    const unit = Deno.readTextFileSync(join(x, "lib/systemd/system/prep-deno-serve.service"));
    assert.match(unit, /^ExecStart=\/usr\/sbin\/prep-deno serve /m);
    // systemd accepts the unit (no systemd runs here: verify it offline, its
    // ExecStart pointed at the extracted runner) and rates it better than the
    // 9.6 UNSAFE of an unhardened root service.
    const unitDir = join(x, "unit-check");
    Deno.mkdirSync(unitDir);
    Deno.writeTextFileSync(
      join(unitDir, "prep-deno-serve.service"),
      unit.replace("ExecStart=/usr/sbin/prep-deno", `ExecStart=${x}/usr/sbin/prep-deno`),
    );
    mustSh(`systemd-analyze verify --man=no "${unitDir}/prep-deno-serve.service"`);
    const rating = mustSh(
      `systemd-analyze security --offline=true "${unitDir}/prep-deno-serve.service" 2>&1 | tail -1`,
    );
    const exposure = Number(/level for \S+: ([\d.]+)/.exec(rating)?.[1]);
    assert.ok(exposure <= 8, `systemd-analyze security: ${rating}`);
    for (const page of ["prep-deno.8", "prep_deno.8"]) {
      const roff = decoder.decode(
        gunzipSync(Deno.readFileSync(join(x, "usr/share/man/man8", `${page}.gz`))),
      );
      assert.match(roff, /^\.TH PREP[-_]DENO 8 /m);
    }
    // The launcher runs the packaged source on the packaged Deno, nothing of this tree.
    const launcher = decoder.decode(
      Deno.readFileSync(join(x, "usr/lib/prep-deno/build/prep-deno")),
    );
    assert.ok(launcher.includes("/usr/lib/prep-deno/src/main.ts"));
    assert.ok(launcher.includes("/usr/lib/prep-deno/deno"));
    assert.ok(!launcher.includes(TOP), "no path of the build tree in the runner");
    const entry = Deno.readTextFileSync(join(x, "usr/lib/prep-deno/build/entry.js"));
    assert.ok(!entry.includes(TOP), "no path of the build tree in the entry");
  } finally {
    Deno.removeSync(x, { recursive: true });
  }
});

/** A pristine minimal Debian root, made once and kept in build/ (it is only ever copied). */
function cleanRootBase(): string {
  const base = join(TOP, "build", "clean-root-base");
  try {
    Deno.statSync(join(base, ".complete"));
    return base;
  } catch { /* make it */ }
  if (sh("command -v debootstrap").code !== 0) {
    mustSh(
      "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap",
    );
  }
  const suite = mustSh(". /etc/os-release && echo $VERSION_CODENAME").trim();
  sh(`rm -rf "${base}"`);
  mustSh(`debootstrap --variant=minbase ${suite} "${base}" http://deb.debian.org/debian`);
  Deno.writeTextFileSync(
    join(base, "etc/apt/sources.list"),
    `deb http://deb.debian.org/debian ${suite} main\n` +
      `deb http://deb.debian.org/debian ${suite}-updates main\n` +
      `deb http://deb.debian.org/debian-security ${suite}-security main\n`,
  );
  Deno.writeTextFileSync(join(base, ".complete"), "");
  return base;
}

/** Runs `script` as root inside `root` (its own mount namespace: /proc, /dev, / a mount point, as bwrap needs). */
function inRoot(root: string, script: string) {
  const env = "export HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 NO_COLOR=1";
  return sh(
    `unshare -m sh -c 'mount --make-rprivate / && mount --bind "$0" "$0" && ` +
      `mount -t proc proc "$0/proc" && mount --rbind /dev "$0/dev" && ` +
      `exec chroot "$0" /bin/sh -c "$1"' "${root}" '${env}; ${script.replaceAll("'", "'\\''")}'`,
  );
}

Deno.test("package: dpkg -i on a clean Debian root, then init, deno test, try (--plugin too), check, every command's --help, serve; dpkg -r warns, --purge cleans", () => {
  const path = deb();
  const root = join(TOP, "build", "clean-root-run");
  sh(`rm -rf "${root}"`);
  mustSh(`cp -a "${cleanRootBase()}" "${root}"`);
  try {
    mustSh(`cp "${path}" "${root}/tmp/prep-deno.deb"`);
    // apt-get fetches the Depends (Slurm's plugins, bubblewrap); the package itself
    // downloads nothing when it is installed.
    const install = inRoot(
      root,
      "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends /tmp/prep-deno.deb",
    );
    assert.equal(install.code, 0, install.stdout + install.stderr);

    const version = inRoot(root, "prep-deno --version");
    assert.equal(version.code, 0, version.stderr);
    assert.match(
      version.stdout,
      new RegExp(
        `^plugin: /usr/lib/x86_64-linux-gnu/slurm-wlm/prep_deno\\.so, built for Slurm ${installedSlurm().upstream}$`,
        "m",
      ),
    );
    const day = inRoot(
      root,
      [
        "prep-deno init /etc/slurm/hooks >/dev/null",
        "cd /etc/slurm/hooks",
        'grep -F \'"prep-deno": "file:///usr/lib/prep-deno/src/mod.ts"\' deno.json',
        // The hook names the runner's helpers by "prep-deno", never by a path.
        'grep -qF \'from "prep-deno";\' site.ts && ! grep -F "file://" site.ts',
        'deno test 2>&1 | grep -E "passed|failed"',
        "prep-deno try site.ts --user nobody --job-id 77",
        "prep-deno try site.ts --context epilog_slurmd --job-id 78",
        "prep-deno check site.ts",
        // The commands that read the node's journal, and bundle, from the installed files.
        "prep-deno history --journal /tmp/no-journal-here >/dev/null",
        "prep-deno stats --journal /tmp/no-journal-here >/dev/null",
        "prep-deno bundle /etc/slurm/hooks -o /tmp/bundled.ts && head -c 20 /tmp/bundled.ts && echo",
        "prep-deno check --slurm-conf /dev/null --json >/dev/null; test $? -le 1",
        "man -w prep-deno >/dev/null 2>&1 || zcat /usr/share/man/man8/prep-deno.8.gz | head -2",
      ].join(" && "),
    );
    assert.equal(day.code, 0, day.stdout + day.stderr);
    // With the runner's helpers the scaffold has one test more (its Epilog uses one).
    let helpers = true;
    try {
      Deno.statSync(join(TOP, "src/helpers/mod.ts"));
    } catch {
      helpers = false;
    }
    assert.match(day.stdout, new RegExp(`ok \\| ${helpers ? 5 : 4} passed \\| 0 failed`));
    assert.match(day.stdout, /^prolog: job 77 of nobody on \S+ \(1 nodes\)$/m);
    assert.doesNotMatch(day.stdout, /^exit status: [1-9]/m);
    if (helpers) {
      // The scaffold's Epilog imports the runner's helpers at run time, from the package.
      assert.match(day.stdout, /^epilog: job 78 wrote its output to \/tmp\/slurm-78\.out$/m);
    }
    assert.match(day.stdout, /^types: ok$/m);

    // Everything --help offers works from the installed files: each command's
    // --help, try through the plugin, and the warm service answering.
    const commands = [...inRoot(root, "prep-deno --help").stdout.matchAll(/^ {2}([a-z]+) /gm)]
      .map((m) => m[1]);
    assert.ok(commands.length >= 5, `commands: ${commands}`);
    for (const c of commands) {
      const help = inRoot(root, `prep-deno ${c} --help`);
      assert.equal(help.code, 0, `prep-deno ${c} --help: ${help.stderr}`);
      assert.match(help.stdout, new RegExp(`^Usage: prep-deno ${c}\\b`, "m"));
      assert.doesNotMatch(
        help.stdout,
        /scripts\/|build\/|src\//,
        `${c} --help names no source-tree path`,
      );
    }
    const plugin = inRoot(
      root,
      "cd /etc/slurm/hooks && prep-deno try site.ts --plugin /usr/lib/x86_64-linux-gnu/slurm-wlm/prep_deno.so --job-id 79",
    );
    assert.equal(plugin.code, 0, plugin.stdout + plugin.stderr);
    const serve = inRoot(
      root,
      // Started and ended by its own pid (the launcher execs Deno: same pid),
      // and bounded by timeout(1) in any case: nothing outlives the test.
      "timeout 60 prep-deno serve --socket /run/pd-test.sock >/tmp/serve.log 2>&1 & pid=$!; " +
        "for i in $(seq 100); do test -S /run/pd-test.sock && break; sleep 0.1; done; " +
        "test -S /run/pd-test.sock && echo listening; kill -TERM $pid; wait $pid; true",
    );
    assert.match(serve.stdout, /listening/, serve.stdout + serve.stderr);
    // Each man page the package ships renders, and every page the unit names is there.
    const man = inRoot(
      root,
      "for p in $(dpkg -L prep-deno | grep '^/usr/share/man/.*\\.gz$'); do " +
        'zcat "$p" | grep -q \'^\\.TH \' || echo "bad $p"; echo "${p##*/}"; done',
    );
    assert.doesNotMatch(man.stdout, /^bad /m, man.stdout);
    const unit = Deno.readTextFileSync(join(TOP, "scripts", "prep-deno-serve.service"));
    for (const [, page, section] of unit.matchAll(/man:([\w-]+)\((\d)\)/g)) {
      assert.match(
        man.stdout,
        new RegExp(`^${page}\\.${section}\\.gz$`, "m"),
        `${page}(${section})`,
      );
    }
    // The unit is known to deb-systemd-helper and not enabled by the package.
    const state = inRoot(
      root,
      "export DPKG_MAINTSCRIPT_PACKAGE=prep-deno; " +
        "deb-systemd-helper debian-installed prep-deno-serve.service && echo known; " +
        "test -e /etc/systemd/system/multi-user.target.wants/prep-deno-serve.service " +
        "&& echo enabled || echo disabled",
    );
    assert.match(state.stdout, /known/, state.stdout + state.stderr);
    assert.match(state.stdout, /disabled/, state.stdout + state.stderr);

    // Removing the package while slurm.conf still loads it says so, then removes it.
    const removed = inRoot(
      root,
      "mkdir -p /etc/slurm && echo 'PrEpPlugins=prep/deno' >> /etc/slurm/slurm.conf && " +
        "dpkg -r prep-deno >/dev/null && ! test -e /usr/sbin/prep-deno && ! test -e /usr/lib/prep-deno " +
        "&& ! test -e /usr/bin/deno && ! test -e /usr/lib/x86_64-linux-gnu/slurm-wlm/prep_deno.so && echo gone",
    );
    assert.equal(removed.stdout.trim(), "gone", removed.stdout + removed.stderr);
    assert.match(
      removed.stderr,
      /\/etc\/slurm\/slurm\.conf still sets PrEpPlugins=prep\/deno/,
      "prerm warns while slurm.conf uses the plugin",
    );
    const purged = inRoot(
      root,
      "mkdir -p /var/lib/prep-deno && dpkg --purge prep-deno >/dev/null && " +
        "! test -e /var/lib/prep-deno && ! dpkg-query -W prep-deno 2>/dev/null && echo purged",
    );
    assert.equal(purged.stdout.trim(), "purged", purged.stdout + purged.stderr);
  } finally {
    sh(`rm -rf "${root}"`);
  }
});

Deno.test("package: the RPM spec builds the same layout, pinned to the same Slurm", () => {
  if (sh("command -v rpmbuild").code !== 0) {
    mustSh("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rpm");
  }
  const out = mustSh(`"${Deno.execPath()}" run --allow-all scripts/package.ts --rpm`);
  const name = /^(build\/rpm\/\S+\.rpm):/m.exec(out)?.[1];
  assert.ok(name, out);
  const path = join(TOP, name);
  const slurm = installedSlurm().upstream;
  const requires = mustSh(`rpm -qpR "${path}"`);
  assert.match(requires, new RegExp(`^slurm = ${slurm.replaceAll(".", "\\.")}$`, "m"));
  assert.match(requires, /^bubblewrap$/m);
  // rpmlint, where it runs: no error and no warning past the filters of
  // packaging/rpmlintrc, each of which says why.
  if (sh("command -v rpmlint").code !== 0) {
    sh("DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rpmlint");
  }
  if (sh("command -v rpmlint").code === 0) {
    const debuginfo = path.replace(/\/prep-deno-/, "/prep-deno-debuginfo-");
    const lint = sh(`rpmlint -r packaging/rpmlintrc "${path}" "${debuginfo}"`);
    assert.match(lint.stdout, /0 errors, 0 warnings/, lint.stdout + lint.stderr);
    const filters = Deno.readTextFileSync(join(TOP, "packaging", "rpmlintrc")).split("\n");
    filters.forEach((line, i) => {
      if (!line.startsWith("addFilter(")) return;
      let above = i - 1;
      while (filters[above]?.startsWith("addFilter(")) above--;
      assert.match(filters[above] ?? "", /^#/, `no reason above ${line}`);
    });
  }
  const root = Deno.makeTempDirSync({ prefix: "prep-deno-rpm-" });
  try {
    // Into an empty root: files only (its Requires are a RHEL host's).
    mustSh(`rpm --root "${root}" --dbpath /rpmdb -i --nodeps --noscripts "${path}"`);
    for (
      const f of [
        "usr/lib/prep-deno/build/prep-deno",
        "usr/lib/prep-deno/deno",
        "usr/lib/prep-deno/src/mod.ts",
        "usr/lib/prep-deno/src/testing.ts",
        "usr/lib64/slurm/prep_deno.so",
        "usr/lib/systemd/system/prep-deno-serve.service",
        "usr/share/man/man8/prep-deno.8.gz",
      ]
    ) assert.ok(Deno.statSync(join(root, f)).isFile, f);
    assert.throws(() => Deno.lstatSync(join(root, "usr/local")), Deno.errors.NotFound);
    assert.equal(
      Deno.readLinkSync(join(root, "usr/sbin/prep-deno")),
      "../lib/prep-deno/build/prep-deno",
    );
    assert.equal(
      slurmVersionOf(Deno.readFileSync(join(root, "usr/lib64/slurm/prep_deno.so"))),
      slurm,
    );
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});
