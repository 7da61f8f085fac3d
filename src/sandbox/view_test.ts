// SPDX-License-Identifier: GPL-2.0-or-later
import assert from "node:assert/strict";
import { join } from "node:path";
import { mungeSocketPath, parseViewSet, resolveView, viewDeps, ViewError } from "./view.ts";
import { GrantError } from "./trust.ts";
import { slurmMasks } from "./view_slurm.ts";

const CONF = "/etc/slurm/hooks/deno.json";

Deno.test("view: the set named after the hook wins over default; every set is checked", () => {
  const sets = { prolog: { slurm: true }, default: { processes: "host" } };
  assert.deepEqual(parseViewSet(sets, "prolog", CONF), { name: "prolog", set: { slurm: true } });
  assert.equal(parseViewSet(sets, "epilog", CONF)?.name, "default");
  assert.equal(parseViewSet({ epilog: {} }, "prolog", CONF), undefined);
  assert.equal(parseViewSet(undefined, "prolog", CONF), undefined);
  // A typo in another hook's set is found now, not when that hook first runs.
  assert.throws(
    () => parseViewSet({ prolog: {}, epilog: { procs: "host" } }, "prolog", CONF),
    /"sandbox" set "epilog": unknown key "procs": use read, write, devices/,
  );
});

Deno.test("view: bad values name the file, the set and the key", () => {
  const bad: [unknown, RegExp][] = [
    [[], /"sandbox" must be an object of named sets/],
    [{ prolog: 3 }, /set "prolog" must be an object/],
    [
      { prolog: { capabilities: ["CAP_SYS_ADMIN"] } },
      /key "capabilities": unknown or refused capability "CAP_SYS_ADMIN"/,
    ],
    [{ prolog: { capabilities: "CAP_KILL" } }, /key "capabilities": must be a list/],
    [{ prolog: { processes: "all" } }, /key "processes": must be "host" or "private"/],
    [{ prolog: { slurm: "yes" } }, /key "slurm": must be true or false/],
    [{ prolog: { devices: ["/etc/passwd"] } }, /key "devices": "\/etc\/passwd" is not under \/dev/],
    [{ prolog: { write: [3] } }, /key "write": must be true, false or a list of paths/],
    [{ prolog: { read: ["/etc\0x"] } }, /key "read": a path contains a NUL byte/],
  ];
  for (const [sets, message] of bad) {
    assert.throws(
      () => parseViewSet(sets, "prolog", CONF),
      (e: Error) => e instanceof ViewError && e.message.startsWith(CONF) && message.test(e.message),
      String(message),
    );
  }
});

Deno.test("view: capabilities may be written without CAP_, any case; relative paths are the policy's", () => {
  const { set } = parseViewSet(
    { default: { capabilities: ["chown", "CAP_KILL"], read: ["data"] } },
    "prolog",
    CONF,
  )!;
  assert.deepEqual(set.capabilities, ["CAP_CHOWN", "CAP_KILL"]);
  assert.deepEqual(set.read, ["/etc/slurm/hooks/data"]);
});

Deno.test("view: without a sandbox set the binds come from the permission set; net shares the network", () => {
  const v = resolveView(undefined, { read: ["/etc"], write: ["/var/tmp"], net: ["x:1"] }, {});
  assert.deepEqual(v.read.map((g) => g.real), ["/etc"]);
  assert.deepEqual(v.write.map((g) => g.real), ["/var/tmp"]);
  assert.equal(v.network, true);
  assert.equal(v.hostProcesses, false);
  assert.deepEqual(v.capabilities, []);
  const none = resolveView(undefined, {}, {});
  assert.equal(none.network, false);
  assert.deepEqual([none.readAll, none.writeAll, none.read.length, none.devices.length], [
    false,
    false,
    0,
    0,
  ]);
});

Deno.test("view: a sandbox set's read/write replace the permission lists; true is the whole host", () => {
  const v = resolveView(
    { write: ["/var/tmp"], read: true },
    { read: ["/etc"], write: ["/usr"] },
    {},
  );
  assert.equal(v.readAll, true);
  assert.deepEqual(v.write.map((g) => g.path), ["/var/tmp"]);
});

Deno.test("view: a missing grant path is an error naming it", () => {
  assert.throws(
    () => resolveView({ write: ["/nonexistent/scratch"] }, {}, {}),
    (e: Error) =>
      e instanceof GrantError &&
      /\/nonexistent\/scratch does not exist on this host/.test(e.message),
  );
});

Deno.test("view: device globs expand to the host's device nodes; a non-device is refused", () => {
  const v = resolveView({ devices: ["/dev/nul*", "/dev/zero"] }, {}, {});
  assert.deepEqual(v.devices.map((g) => g.real), ["/dev/null", "/dev/zero"]);
  assert.deepEqual(resolveView({ devices: ["/dev/nvidia-none*"] }, {}, {}).devices, []);
  assert.throws(
    () => resolveView({ devices: ["/dev/shm"] }, {}, {}),
    /\/dev\/shm is a folder that is not a folder of devices: others may write it/,
  );
});

Deno.test("view: the host's /tmp may be read whole (the runtime's cache is not there)", () => {
  assert.equal(resolveView({ read: ["/tmp"] }, {}, {}).read[0].real, "/tmp");
});

Deno.test("view: slurm masks what not every user could read in slurm.conf's folder, subfolders and link targets included", () => {
  const dir = Deno.makeTempDirSync();
  const outside = Deno.makeTempDirSync();
  try {
    Deno.chmodSync(dir, 0o755);
    const file = (p: string, mode: number) => {
      Deno.writeTextFileSync(p, "x");
      Deno.chmodSync(p, mode);
    };
    file(join(dir, "slurm.conf"), 0o644);
    file(join(dir, "gres.conf"), 0o644);
    file(join(dir, "private.conf"), 0o600);
    file(join(dir, "group.conf"), 0o640);
    Deno.mkdirSync(join(dir, "sub"), { mode: 0o755 });
    file(join(dir, "sub", "plain.conf"), 0o644);
    file(join(dir, "sub", "hidden.conf"), 0o600);
    file(join(dir, "sub", "public.key"), 0o644);
    Deno.mkdirSync(join(dir, "closed"), { mode: 0o700 });
    file(join(dir, "closed", "x"), 0o644);
    file(join(outside, "target"), 0o600);
    Deno.symlinkSync(join(outside, "target"), join(dir, "link.conf"));
    Deno.symlinkSync(join(dir, "sub", "hidden.conf"), join(dir, "alias"));
    // A linked folder open to all is walked as a subfolder; a loop ends.
    Deno.mkdirSync(join(outside, "linked"), { mode: 0o755 });
    Deno.chmodSync(outside, 0o755);
    file(join(outside, "linked", "private"), 0o600);
    file(join(outside, "linked", "public"), 0o644);
    Deno.symlinkSync(join(outside, "linked"), join(dir, "linked"));
    Deno.symlinkSync(dir, join(dir, "sub", "loop"));
    const m = slurmMasks(dir, [join(dir, "slurm.conf")]);
    assert.deepEqual(
      m.hidden,
      [
        join(dir, "group.conf"),
        join(dir, "private.conf"),
        join(dir, "sub", "hidden.conf"),
        join(dir, "sub", "public.key"),
        join(Deno.realPathSync(outside), "target"),
        join(Deno.realPathSync(outside), "linked", "private"),
      ].sort(),
    );
    assert.deepEqual(m.hiddenDirs, [join(dir, "closed")]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
    Deno.removeSync(outside, { recursive: true });
  }
});

Deno.test("view: slurm finds slurm.conf from SLURM_CONF and munge's socket from AuthInfo", () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.mkdirSync(join(dir, "munge"));
    Deno.writeTextFileSync(
      join(dir, "slurm.conf"),
      `ClusterName=c\nAuthInfo=cred_expire=60,socket=${dir}/munge/s\n`,
    );
    for (const f of ["slurm.key", "slurmdbd.conf", "gres.conf", "site.key"]) {
      Deno.writeTextFileSync(join(dir, f), "");
    }
    assert.equal(mungeSocketPath(join(dir, "slurm.conf")), `${dir}/munge/s`);
    const v = resolveView({ slurm: true }, {}, { SLURM_CONF: join(dir, "slurm.conf") });
    assert.equal(v.slurm?.confDir, dir);
    assert.equal(v.slurm?.confPath, join(dir, "slurm.conf"));
    assert.equal(v.slurm?.mungeDir, join(dir, "munge"));
    assert.deepEqual(
      v.slurm?.hidden,
      ["site.key", "slurm.key", "slurmdbd.conf"].map((f) => join(dir, f)),
    );
    assert.deepEqual(v.slurm?.hiddenDirs, []);
    // A file made later makes a new plan: the folders' listings are dependencies.
    assert.ok(viewDeps(v).includes(`${dir}/.`));
    assert.ok(viewDeps(v).includes(`${dir}/munge/.`));
    assert.equal(v.network, true);
    assert.equal(mungeSocketPath("/nonexistent"), "/run/munge/munge.socket.2");
    assert.throws(
      () => resolveView({ slurm: true }, {}, { SLURM_CONF: "/nonexistent/slurm.conf" }),
      /does not exist/,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
