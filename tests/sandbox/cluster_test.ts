// SPDX-License-Identifier: GPL-2.0-or-later
// The recipes of examples/ on the real cluster: the ported site scripts do
// what the shell originals do (folders owned by the job user with mode 700
// and gone after; the user's leftover processes gone; a failing GPU drains
// the node with the GPU named in the reason; Slurm's commands from a hook).
import assert from "node:assert/strict";
import { join } from "node:path";
import { TOP } from "../helpers.ts";
import { recipeCopy, tryRun } from "./helpers.ts";
import {
  alive,
  CLUSTER_DIR,
  nodeState,
  resumeNode,
  show,
  slurm,
  startCluster,
  stopCluster,
  waitFor,
  waitJobState,
} from "../slurm/cluster.ts";

const EXAMPLES = join(TOP, "examples");
const NOBODY = 65534;
/** A folder the job user may write its findings into. */
const OUT = "/var/tmp/prep-deno-recipes";

function freshOut(): string {
  Deno.mkdirSync(OUT, { recursive: true });
  Deno.chmodSync(OUT, 0o1777);
  const dir = join(OUT, crypto.randomUUID().slice(0, 8));
  Deno.mkdirSync(dir);
  Deno.chmodSync(dir, 0o1777);
  return dir;
}

/** sbatch as the job user nobody; returns the job id. */
async function sbatchAsNobody(script: string, extra: string[] = []): Promise<number> {
  const r = await slurm("sbatch", [
    "--parsable",
    `--uid=${NOBODY}`,
    `--gid=${NOBODY}`,
    "--chdir=/tmp",
    "-o",
    "/dev/null",
    ...extra,
    "--wrap",
    script,
  ]);
  if (r.code !== 0) throw new Error(`sbatch: ${r.stderr}`);
  return Number(r.stdout.trim().split(";")[0]);
}

function gone(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return false;
  } catch {
    return true;
  }
}

Deno.test({
  name:
    "recipe job-folders (HPCNow): 700 folders of the job user in /scratch, /dev/shm, /tmp, gone after",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    Deno.mkdirSync("/scratch", { recursive: true });
    const copy = recipeCopy("job-folders");
    const hook = join(copy, "hook.ts");
    await startCluster({ plugin: "prep/deno", prolog: hook, epilog: hook });
    try {
      const out = freshOut();
      const id = await sbatchAsNobody(
        `for r in /scratch /dev/shm /tmp; do stat -c '%n %U %a' $r/jobs/nobody/$SLURM_JOB_ID; ` +
          `echo data > $r/jobs/nobody/$SLURM_JOB_ID/f; done > ${out}/seen`,
      );
      const job = await waitJobState(id, ["COMPLETED", "FAILED", "NODE_FAIL"], 60);
      assert.equal(job.JobState, "COMPLETED", JSON.stringify(job));
      const seen = Deno.readTextFileSync(join(out, "seen"));
      for (const root of ["/scratch", "/dev/shm", "/tmp"]) {
        assert.match(seen, new RegExp(`^${root}/jobs/nobody/${id} nobody 700$`, "m"));
      }
      await waitFor("the epilog's cleanup", () =>
        Promise.resolve(
          ["/scratch", "/dev/shm", "/tmp"].every((r) => gone(`${r}/jobs/nobody/${id}`))
            ? true
            : undefined,
        ), 30);
      assert.equal((await nodeState()).reason, "");
    } finally {
      await stopCluster();
      Deno.removeSync(copy, { recursive: true });
    }
  },
});

Deno.test({
  name: "recipe kill-leftovers (Carme): the user's processes go with their last job, not before",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await startCluster({
      plugin: "prep/deno",
      epilog: join(EXAMPLES, "kill-leftovers", "hook.ts"),
    });
    const leftover = new Deno.Command("/usr/bin/setpriv", {
      args: [
        "--reuid",
        String(NOBODY),
        "--regid",
        String(NOBODY),
        "--clear-groups",
        "/usr/bin/sleep",
        "600",
      ],
    }).spawn();
    try {
      // While another job of the user runs here, its epilog spares everything.
      const long = await sbatchAsNobody("sleep 30");
      await waitJobState(long, ["RUNNING"], 30);
      const short = await sbatchAsNobody("true");
      await waitJobState(short, ["COMPLETED"], 60);
      await new Promise((r) => setTimeout(r, 2000));
      assert.ok(alive(leftover.pid), "the process was killed while the user had another job");
      // The user's last job ends: the epilog stops what is left.
      await slurm("scancel", [String(long)]);
      const status = await Promise.race([
        leftover.status,
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 60_000)),
      ]);
      assert.ok(status, "the leftover process outlived the user's last job");
      assert.equal(status.signal, "SIGTERM");
      assert.equal((await nodeState()).reason, "");
    } finally {
      try {
        leftover.kill("SIGKILL");
      } catch { /* gone */ }
      await stopCluster();
    }
  },
});

Deno.test({
  name: "recipe scontrol: a hook updates its job through Slurm's own command",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await startCluster({ plugin: "prep/deno", prolog: join(EXAMPLES, "scontrol", "hook.ts") });
    try {
      const id = await sbatchAsNobody("true");
      await waitJobState(id, ["COMPLETED"], 60);
      const job = await show("job", id);
      assert.match(job.Comment ?? "", /^prolog on \S+ at \d{4}-/);
    } finally {
      await stopCluster();
    }
  },
});

/** In the fake nvidia-smi's comment: the file is this test's. */
const FAKE_SMI_MARK = "fake nvidia-smi of prep/deno's gpu-check recipe test";

/** Fake GPUs: /dev/null-like device nodes, and an nvidia-smi that reports GPU 1 lost. */
function fakeGpus(): () => void {
  const made: string[] = [];
  for (const n of ["nvidia0", "nvidia1", "nvidiactl"]) {
    const p = `/dev/${n}`;
    if (!gone(p)) continue;
    const mk = new Deno.Command("/usr/bin/mknod", { args: ["-m", "666", p, "c", "1", "3"] })
      .outputSync();
    if (!mk.success) throw new Error(`mknod ${p} failed`);
    made.push(p);
  }
  const smi = "/usr/local/bin/nvidia-smi";
  // A real one is never replaced; this test's own fake, left by a run that
  // was killed, is.
  if (!gone(smi) && !Deno.readTextFileSync(smi).includes(FAKE_SMI_MARK)) {
    throw new Error(`${smi} exists: this test needs its fake there`);
  }
  Deno.writeTextFileSync(
    smi,
    `#!/bin/sh
# ${FAKE_SMI_MARK}: -i N queries GPU N through its device node
i="$2"
dd if=/dev/nvidia$i of=/dev/null count=1 status=none 2>/dev/null || { echo "No devices were found" >&2; exit 6; }
if [ "$i" = 1 ]; then echo "Unable to determine the device handle for GPU1: 0000:02:00.0: GPU is lost" >&2; exit 15; fi
echo "NVIDIA Fake, 00000000:0$((i+1)):00.0"
`,
  );
  Deno.chmodSync(smi, 0o755);
  made.push(smi);
  const jobs = "/run/prep-deno-gpu-jobs"; // the recipe's record folder
  const madeJobs = gone(jobs);
  Deno.mkdirSync(jobs, { recursive: true });
  return () => {
    made.forEach((p) => Deno.removeSync(p));
    if (madeJobs) Deno.removeSync(jobs, { recursive: true });
  };
}

Deno.test({
  name:
    "recipe gpu-check (nebius): a lost GPU drains the node naming it; healthy GPUs are recorded",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const cleanup = fakeGpus();
    try {
      await startCluster({ plugin: "prep/deno" });
      const node = (await slurm("hostname", ["-s"])).stdout.trim();
      const env = [
        "--env",
        `SLURM_CONF=${join(CLUSTER_DIR, "slurm.conf")}`,
        "--env",
        `SLURMD_NODENAME=${node}`,
      ];
      const hook = join(EXAMPLES, "gpu-check", "hook.ts");
      const healthy = await tryRun([hook, "--job-id", "501", "--env", "SLURM_JOB_GPUS=0", ...env]);
      assert.match(healthy.stdout, /exit status: 0/, healthy.stdout + healthy.stderr);
      assert.equal(Deno.readTextFileSync("/run/prep-deno-gpu-jobs/0"), "501");
      assert.equal((await nodeState()).reason, "");
      const lost = await tryRun([hook, "--job-id", "502", "--env", "SLURM_JOB_GPUS=0,1", ...env]);
      assert.match(lost.stdout, /exit status: 0/, lost.stdout + lost.stderr);
      const state = await nodeState();
      assert.match(state.state, /DRAIN/);
      assert.match(
        state.reason,
        /^gpu-check: GPU 1 failed nvidia-smi: Unable to determine the device handle for GPU1/,
      );
    } finally {
      try {
        await resumeNode();
        await stopCluster();
      } finally {
        cleanup();
      }
    }
  },
});

Deno.test({
  name: "recipe node-health: a healthy node passes; the check names what is missing",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await startCluster({ plugin: "prep/deno" });
    try {
      const node = (await slurm("hostname", ["-s"])).stdout.trim();
      const r = await tryRun([
        join(EXAMPLES, "node-health", "hook.ts"),
        "--env",
        `SLURM_CONF=${join(CLUSTER_DIR, "slurm.conf")}`,
        "--env",
        `SLURMD_NODENAME=${node}`,
      ]);
      assert.match(r.stdout, /exit status: 0/, r.stdout + r.stderr);
      const { checkNode } = await import("../../examples/node-health/hook.ts");
      const problems = await checkNode({ "/tmp": 1, "/nonexistent-mount": 1, "/var/tmp": 1e12 });
      assert.equal(problems.length, 2, problems.join("; "));
      assert.match(problems[0], /^\/nonexistent-mount missing/);
      assert.match(problems[1], /^\/var\/tmp has \d+ MiB free, needs 1000000000000$/);
    } finally {
      await stopCluster();
    }
  },
});

Deno.test({
  name: "recipe rest-call: slurmctld's PrologSlurmctld posts each job to the site service",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const seen: { id: number; user: string }[] = [];
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 17019, onListen() {} },
      async (req) => {
        seen.push(await req.json());
        return new Response("ok");
      },
    );
    await startCluster({
      plugin: "prep/deno",
      prologSlurmctld: join(EXAMPLES, "rest-call", "hook.ts"),
    });
    try {
      const id = await sbatchAsNobody("true");
      await waitJobState(id, ["COMPLETED"], 60);
      const posted = seen.find((j) => j.id === id);
      assert.ok(posted, JSON.stringify(seen));
      assert.equal(posted.user, "nobody");
    } finally {
      await stopCluster();
      await server.shutdown();
    }
  },
});
