// SPDX-License-Identifier: GPL-2.0-or-later
import assert from "node:assert/strict";
import { LAUNCHER } from "../contract.ts";
import type { Policy } from "../sandbox/policy.ts";
import { HELPER_MODULE_PATHS } from "../helpers/paths.ts";
import { WALK_TOOL } from "../helpers/walk_tool.ts";
import { runtimeModulePaths } from "../sandbox/import_map.ts";
import {
  denoPermissionFlags,
  encodePlan,
  hookSandbox,
  LaunchRefused,
  planHook,
  policyDeps,
  walkToolAllowed,
  walkToolPaths,
} from "./plan.ts";

Deno.test("plan: a policy becomes Deno's permission flags, absent kinds denied", () => {
  assert.deepEqual(denoPermissionFlags({}, []), ["--deny-import", "--no-npm"]);
  assert.deepEqual(
    denoPermissionFlags({ read: ["/a", "/b"], env: true, write: ["/w"] }, ["/status"]),
    ["--allow-read=/a,/b", "--allow-write=/w,/status", "--allow-env", "--deny-import", "--no-npm"],
  );
  assert.deepEqual(denoPermissionFlags({ write: true, import: ["jsr.io"] }, ["/status"]), [
    "--allow-write",
    "--allow-import=jsr.io",
    // npm: only when the import grant names the npm registry.
    "--no-npm",
  ]);
  // An empty list grants nothing.
  assert.deepEqual(denoPermissionFlags({ net: [] }, []), ["--deny-import", "--no-npm"]);
});

Deno.test("plan: a grant with a comma is refused, never split into two", () => {
  assert.throws(
    () => denoPermissionFlags({ read: ["/data/a,b"] }, []),
    (e) =>
      e instanceof LaunchRefused && /"read" grant "\/data\/a,b" contains a comma/.test(e.message),
  );
});

Deno.test("plan: the hook root is the policy's folder, or the module alone", () => {
  // Only the fields hookSandbox reads; loadPolicy makes the real ones.
  const policy = (p: Partial<Policy>) => p as Policy;
  const withPolicy = hookSandbox(
    "/etc/slurm/hooks/prolog.ts",
    policy({
      configPath: "/etc/slurm/hooks/deno.json",
      hookRoot: "/etc/slurm/hooks",
      permissions: { read: ["/scratch"] },
    }),
  );
  assert.equal(withPolicy.hookRoot, "/etc/slurm/hooks");
  assert.deepEqual(withPolicy.permissions.read, [
    "/scratch",
    "/etc/slurm/hooks",
    ...HELPER_MODULE_PATHS,
    ...runtimeModulePaths(),
  ]);
  const alone = hookSandbox(
    "/etc/slurm/prolog.ts",
    policy({ hookRoot: "/etc/slurm/prolog.ts", permissions: {} }),
  );
  assert.equal(alone.hookRoot, "/etc/slurm/prolog.ts");
  assert.deepEqual(
    hookSandbox("/m.ts", policy({ hookRoot: "/m.ts", permissions: { read: true } })).permissions
      .read,
    true,
  );
});

Deno.test("plan: the deps are every folder above the module and its config names", () => {
  assert.deepEqual(policyDeps("/etc/slurm/prolog.ts"), [
    "/etc/slurm",
    "/etc/slurm/deno.json",
    "/etc/slurm/deno.jsonc",
    "/etc",
    "/etc/deno.json",
    "/etc/deno.jsonc",
    "/",
    "/deno.json",
    "/deno.jsonc",
  ]);
});

Deno.test("plan: the encoding is NUL-terminated lists with counts, and refuses NUL bytes", () => {
  const plan = {
    bwrap: "/usr/bin/bwrap",
    bwrapArgs: ["--x"],
    command: ["deno", "run"],
    deps: ["/"],
  };
  const head = [LAUNCHER.PLAN_MAGIC, "1", "/", "2", "/usr/bin/bwrap", "--x", "2", "deno", "run"];
  // Seeds, then privileged commands: none.
  assert.equal(new TextDecoder().decode(encodePlan(plan)), [...head, "0", "0", "0", ""].join("\0"));
  // Seeds: pairs (the file outside, its path in the sandbox), at most LAUNCHER.MAX_SEEDS.
  const seeds = Array.from({ length: LAUNCHER.MAX_SEEDS + 1 }, (_, i) => ({
    host: `/s${i}`,
    sandbox: `/tmp/.deno/s${i}`,
  }));
  assert.equal(
    new TextDecoder().decode(encodePlan({ ...plan, seeds })),
    [
      ...head,
      String(2 * LAUNCHER.MAX_SEEDS),
      ...seeds.slice(0, LAUNCHER.MAX_SEEDS).flatMap((f) => [f.host, f.sandbox]),
      "0",
      "0",
      "",
    ].join("\0"),
  );
  // Privileged commands: the broker's rules, as src/sandbox/privileged.ts encodes them.
  assert.equal(
    new TextDecoder().decode(encodePlan({ ...plan, privileged: ["p", "/x", "", "1", "0"] })),
    [...head, "0", "5", "p", "/x", "", "1", "0", "0", ""].join("\0"),
  );
  assert.throws(
    () => encodePlan({ bwrap: "/b", bwrapArgs: ["a\0b"], command: [], deps: [] }),
    LaunchRefused,
  );
});

Deno.test("plan: another entry gets the same view, the runner's state masked before its own folders", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const module = `${dir}/hook.ts`;
    Deno.writeTextFileSync(module, "export function prolog() {}\n");
    const plan = planHook(module, "prolog", {
      runtimePaths: ["/opt/warm.js"],
      runtimeWritable: ["/run/prep-deno/hosts-1/7"],
      command: (deno, flags) => [deno, "run", ...flags, "/opt/warm.js"],
    });
    const args = plan.bwrapArgs.join(" ");
    assert.match(args, /--ro-bind \/opt\/warm\.js \/opt\/warm\.js/);
    assert.ok(
      args.indexOf("--tmpfs /run/prep-deno") < args.indexOf("--bind /run/prep-deno/hosts-1/7"),
      args,
    );
    assert.deepEqual(plan.command.slice(-3), ["--deny-import", "--no-npm", "/opt/warm.js"]);
    const read = plan.command.find((f) => f.startsWith("--allow-read="));
    assert.ok(read?.slice("--allow-read=".length).split(",").includes(module), read);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("plan: the walk tool is added to run only when Deno's write covers the view's, or named", () => {
  const view = (write: string[]) => ({ write: write.map((p) => ({ path: p, real: p })) }) as never;
  assert.equal(walkToolAllowed({ write: ["/tmp"] }, view(["/tmp/jobs"])), true);
  assert.equal(walkToolAllowed({}, view([])), true);
  assert.equal(walkToolAllowed({ write: ["/tmp/jobs"] }, view(["/tmp"])), false);
  assert.equal(walkToolAllowed({ write: true }, view(["/tmp"])), true);
  const policy = (p: Partial<Policy>) => p as Policy;
  const tool = walkToolPaths();
  assert.deepEqual(tool, [WALK_TOOL], "the build made the tool");
  const auto = hookSandbox("/m.ts", policy({ hookRoot: "/m.ts", permissions: { write: ["/x"] } }));
  assert.deepEqual(auto.permissions.run, tool);
  const wide = hookSandbox(
    "/m.ts",
    policy({ hookRoot: "/m.ts", permissions: { write: ["/x/y"] }, view: view(["/x"]) }),
  );
  assert.equal(wide.permissions.run, undefined);
  const named = hookSandbox(
    "/m.ts",
    policy({
      hookRoot: "/m.ts",
      permissions: { write: ["/x/y"], run: ["prep-deno-walk", "/usr/bin/kill"] },
      view: view(["/x"]),
    }),
  );
  assert.deepEqual(named.permissions.run, [WALK_TOOL, "/usr/bin/kill"]);
});
