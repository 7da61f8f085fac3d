// SPDX-License-Identifier: GPL-2.0-or-later
import assert from "node:assert/strict";
import { bwrapArgs, hostProcessesGid, sandboxedCommand, SETPRIV } from "./sandbox.ts";
import { resolveView } from "./view.ts";
import { denoPermissionFlags } from "../launch/plan.ts";
import { LAUNCHER } from "../contract.ts";
import { RUNTIME_DIR } from "../launch/constants.ts";

const BASE = { runtimePaths: ["/opt/prep-deno"], hookRoot: "/etc/slurm/hooks", setenv: { A: "1" } };

/** The argument pairs/triples of one bwrap option. */
function uses(args: string[], opt: string): string[][] {
  const width: Record<string, number> = { "--cap-add": 1, "--tmpfs": 1, "--proc": 1, "--dev": 1 };
  const n = width[opt] ?? 2;
  const out: string[][] = [];
  args.forEach((a, i) => a === opt && out.push(args.slice(i + 1, i + 1 + n)));
  return out;
}

Deno.test("sandbox args: no sandbox set is today's least privilege", () => {
  const a = bwrapArgs({ ...BASE, view: resolveView(undefined, {}, {}) });
  for (
    const f of [
      "--unshare-pid",
      "--unshare-net",
      "--unshare-ipc",
      "--die-with-parent",
      "--new-session",
    ]
  ) {
    assert.ok(a.includes(f), f);
  }
  assert.equal(a[a.indexOf("--cap-drop") + 1], "ALL");
  assert.deepEqual(uses(a, "--cap-add"), []);
  assert.deepEqual(uses(a, "--bind"), []);
  assert.deepEqual(uses(a, "--dev-bind"), []);
  assert.ok(uses(a, "--ro-bind-try").some(([p]) => p === "/etc/alternatives"));
  assert.ok(!uses(a, "--ro-bind-try").some(([p]) => p === "/etc/resolv.conf"));
});

Deno.test("sandbox args: each key of a sandbox set becomes its bwrap option", () => {
  const view = resolveView(
    {
      write: ["/var/tmp"],
      read: ["/etc/hostname"],
      devices: ["/dev/null"],
      capabilities: ["CAP_CHOWN", "CAP_KILL"],
      processes: "host",
    },
    {},
    {},
  );
  const a = bwrapArgs({ ...BASE, view });
  assert.deepEqual(uses(a, "--bind"), [["/var/tmp", "/var/tmp"]]);
  assert.ok(uses(a, "--ro-bind").some(([p]) => p === "/etc/hostname"));
  assert.deepEqual(uses(a, "--dev-bind"), [["/dev/null", "/dev/null"]]);
  // CAP_SETGID and CAP_SETPCAP only for sandboxedCommand's wrapper, which drops them.
  assert.deepEqual(uses(a, "--cap-add"), [["CAP_CHOWN"], ["CAP_KILL"], ["CAP_SETGID"], [
    "CAP_SETPCAP",
  ]]);
  assert.ok(!a.includes("--unshare-pid"));
  assert.ok(a.includes("--unshare-net"));
  const argv = sandboxedCommand({ hookRoot: "/h", view }, ["/usr/bin/deno", "run"]);
  const gid = hostProcessesGid("/h", view);
  assert.deepEqual(argv.slice(0, 2), [SETPRIV, `--regid=${gid}`]);
  assert.ok(gid > 65534 && gid < 2147483647);
  // Another hook root (or view): another group, so hooks cannot reach each other.
  assert.notEqual(hostProcessesGid("/other", view), gid);
  assert.equal(hostProcessesGid("/h", view), gid, "stable: plans are cached");
  assert.ok(argv.includes("--bounding-set=-setgid,-setpcap"));
  assert.deepEqual(argv.slice(-3), ["--", "/usr/bin/deno", "run"]);
  // Without the node's processes: the command alone, no extra capability.
  const own = resolveView({ capabilities: ["CAP_CHOWN"] }, {}, {});
  assert.deepEqual(sandboxedCommand({ hookRoot: "/h", view: own }, ["/usr/bin/deno"]), [
    "/usr/bin/deno",
  ]);
  assert.deepEqual(uses(bwrapArgs({ ...BASE, view: own }), "--cap-add"), [["CAP_CHOWN"]]);
});

Deno.test("sandbox args: the hook's code and the runner are bound read-only after every grant", () => {
  const a = bwrapArgs({ ...BASE, view: resolveView({ write: true }, {}, {}) });
  assert.deepEqual(a.slice(0, 3), ["--bind", "/", "/"]);
  const last = (p: string) => a.lastIndexOf(p);
  assert.ok(last("/etc/slurm/hooks") > last("/"));
  assert.equal(a[last("/etc/slurm/hooks") - 2], "--ro-bind");
  assert.equal(a[last("/opt/prep-deno") - 2], "--ro-bind");
  // Whole-root grants: no symlink over merged-/usr's /bin (bwrap could not make it).
  assert.deepEqual(uses(a, "--symlink"), []);
});

Deno.test("sandbox args: the runner's in-view state is a tmpfs at its run dir, after every grant, whatever the grants", () => {
  const views = [
    resolveView({ write: true }, {}, {}),
    resolveView({ read: true }, {}, {}),
    resolveView({ write: ["/tmp", "/dev/shm"] }, {}, {}),
    resolveView({ read: ["/tmp", "/run"] }, {}, {}),
  ];
  for (const view of views) {
    const a = bwrapArgs({ ...BASE, view, runtimeWritable: [`${LAUNCHER.RUN_DIR}/warm/1`] });
    const tmpfs = a.lastIndexOf(LAUNCHER.RUN_DIR);
    assert.equal(a[tmpfs - 1], "--tmpfs");
    // Every bind of a host path comes before it, but the runner's own folder.
    a.forEach((arg, i) => {
      if (["--bind", "--ro-bind", "--ro-bind-try", "--dev-bind"].includes(arg)) {
        const w = a[i + 2];
        assert.ok(i < tmpfs || w === `${LAUNCHER.RUN_DIR}/warm/1`, `${arg} ${w} after the tmpfs`);
      }
    });
    // The runner's in-view files are in it.
    for (const p of [RUNTIME_DIR, LAUNCHER.STATUS_PATH]) {
      assert.ok(p.startsWith(`${LAUNCHER.RUN_DIR}/`), p);
    }
  }
});

Deno.test("sandbox args: deno flags grant what the set grants, never npm: unless imported", () => {
  assert.deepEqual(denoPermissionFlags({ read: ["/a", "/b"], run: true }, []), [
    "--allow-read=/a,/b",
    "--allow-run",
    "--deny-import",
    "--no-npm",
  ]);
  assert.deepEqual(denoPermissionFlags({ all: true }, []), ["--allow-all"]);
  assert.ok(denoPermissionFlags({ net: true, import: ["deno.land"] }, []).includes("--no-npm"));
  assert.ok(!denoPermissionFlags({ import: ["registry.npmjs.org:443"] }, []).includes("--no-npm"));
  assert.deepEqual(denoPermissionFlags({ env: ["X"] }, [], ["DENO_DIR"]), [
    "--allow-env=X,DENO_DIR",
    "--deny-import",
    "--no-npm",
  ]);
});

Deno.test("sandbox args: children get a standard PATH (Slurm gives hooks none)", () => {
  const a = bwrapArgs({ ...BASE, view: resolveView(undefined, {}, {}) });
  assert.deepEqual(uses(a, "--setenv")[0], [
    "PATH",
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  ]);
});
