// SPDX-License-Identifier: GPL-2.0-or-later
// The journal, history, stats, the textfile and the logs on the real
// cluster, one start per mode (spawn, warm): 100 jobs each (200 in all)
// with a shell Prolog, a TypeScript Epilog and a TypeScript EpilogSlurmctld
// that passes, throws (job id % 5 == 1) or runs past its timeout (job id %
// 10 == 3). Every run is in the journal with the right status and output;
// `history --job` and `stats` agree with what slurmctld logged; Debian's
// node_exporter serves the right counts; two failing Epilogs keep the first
// reason; a slurmd SIGKILLed among running hooks loses no finished record.
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  CLUSTER_DIR,
  daemonLog,
  nodeState,
  RELEASE,
  resumeNode,
  sbatch,
  slurm,
  startCluster,
  stopCluster,
  waitFor,
  waitJobState,
} from "../slurm/cluster.ts";
import { PREP_DENO } from "../helpers.ts";
import { readJournal, type RunRecord } from "../../src/journal/read.ts";
import { sample, scrape } from "./exporter.ts";

const ignore = RELEASE.missing !== undefined || RELEASE.prefix !== undefined;
const JOBS = 100;
const TIMEOUT = 4;

/** How job `id`'s EpilogSlurmctld ends. */
function ctldKind(id: number): "ok" | "timeout" | "failed" {
  if (id % 10 === 3) return "timeout";
  if (id % 5 === 1) return "failed";
  return "ok";
}

function hooks() {
  const dir = Deno.makeTempDirSync({ dir: "/var/tmp", prefix: "prep-deno-jcluster-" });
  Deno.chmodSync(dir, 0o755);
  const write = (name: string, text: string, mode = 0o644) => {
    const path = join(dir, "hooks", name);
    Deno.mkdirSync(join(dir, "hooks"), { recursive: true });
    Deno.writeTextFileSync(path, text, { mode });
    Deno.chmodSync(path, mode);
    return path;
  };
  const prolog = write("prolog.sh", `#!/bin/bash\necho "prolog job $SLURM_JOB_ID"\n`, 0o755);
  const epilog = write(
    "epilog.ts",
    `export default (job) => {\n` +
      `  console.log("epilog job " + job.id);\n` +
      `  if (Number(job.id) > ${JOBS} && Number(job.id) <= ${
        JOBS + 2
      }) throw new Error("fan " + job.id + " stopped");\n` +
      `};\n`,
  );
  const ctld = write(
    "ctld.ts",
    `export default async (job) => {\n` +
      `  const id = Number(job.id);\n` +
      `  console.log("ctld job " + id);\n` +
      `  if (id % 10 === 3) await new Promise((r) => setTimeout(r, 60000));\n` +
      `  if (id % 5 === 1) throw new Error("bad job " + id);\n` +
      `};\n`,
  );
  Deno.mkdirSync(join(dir, "prom"));
  return { dir, prolog, epilog, ctld, journal: join(dir, "journal"), prom: join(dir, "prom") };
}

async function prepDeno(args: string[]): Promise<string> {
  const o = await new Deno.Command(PREP_DENO, { args, stdin: "null" }).output();
  const text = new TextDecoder().decode(o.stdout);
  if (!o.success) {
    throw new Error(`prep-deno ${args.join(" ")}: ${new TextDecoder().decode(o.stderr)}`);
  }
  return text;
}

async function allDone(ids: number[]) {
  await waitFor(`${ids.length} jobs ended with their epilogs`, async () => {
    const r = await slurm("squeue", ["-h", "-o", "%i"]);
    if (r.stdout.trim() !== "") return undefined;
    const j = await readJournal(JOURNAL);
    const ended = new Set(j.runs.filter((x) => x.hook === "epilog_slurmctld").map((x) => x.job));
    const epi = new Set(j.runs.filter((x) => x.hook === "epilog").map((x) => x.job));
    return ids.every((i) => ended.has(i) && epi.has(i)) ? true : undefined;
  }, 600);
}

let JOURNAL = "";

for (const mode of ["spawn", "warm"] as const) {
  Deno.test({
    name:
      `journal on the cluster (${mode}): ${JOBS} jobs, every run recorded, history/stats/metrics agree`,
    ignore,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const h = hooks();
      JOURNAL = h.journal;
      // serve.log is appended to across cluster starts: this start's part only.
      const serveLog = join(CLUSTER_DIR, "log", "serve.log");
      let serveFrom = 0;
      try {
        serveFrom = Deno.statSync(serveLog).size;
      } catch { /* first start */ }
      await startCluster({
        plugin: "prep/deno",
        prolog: h.prolog,
        epilog: h.epilog,
        epilogSlurmctld: h.ctld,
        timeout: TIMEOUT,
        warm: mode === "warm",
        prepParams: `runner=${PREP_DENO},journal=${h.journal},metrics=${h.prom}/hooks.prom`,
      });
      try {
        const ids: number[] = [];
        for (let i = 0; i < JOBS; i++) ids.push(await sbatch(["--wrap", "true"]));
        await allDone(ids);

        const j = await readJournal(h.journal);
        assert.equal(j.torn, 0);
        const modMode = mode;
        const one = (id: number, hook: string): RunRecord => {
          const rs = j.runs.filter((r) => r.job === id && r.hook === hook);
          assert.equal(rs.length, 1, `job ${id} ${hook}: ${rs.length} records`);
          return rs[0];
        };
        for (const id of ids) {
          const p = one(id, "prolog");
          assert.equal(p.kind, "ok");
          assert.equal(p.mode, "script");
          assert.equal(p.output, `prolog job ${id}\n`);
          assert.equal(p.user, "root");
          const e = one(id, "epilog");
          assert.equal(e.kind, "ok", JSON.stringify(e));
          assert.equal(e.mode, modMode);
          assert.match(e.output, new RegExp(`^epilog job ${id}\\n`));
          const c = one(id, "epilog_slurmctld");
          assert.equal(c.mode, modMode, JSON.stringify(c));
          assert.equal(c.daemon, "slurmctld");
          // A warm hook killed at its timeout: the service's words only (what
          // it printed stayed in the killed host).
          if (!(modMode === "warm" && ctldKind(id) === "timeout")) {
            assert.match(c.output, new RegExp(`ctld job ${id}\\n`));
          }
          const want = ctldKind(id);
          if (want === "ok") assert.equal(c.kind, "ok", JSON.stringify(c));
          if (want === "timeout") {
            assert.equal(c.kind, "timeout", JSON.stringify(c));
            assert.equal(c.timed_out, true);
          }
          if (want === "failed") {
            assert.equal(c.kind, "threw", JSON.stringify(c));
            // With the first frame inside the hook's folder: ctld.ts line 5.
            assert.equal(
              c.cause,
              `bad job ${id} at ctld.ts:5`,
            );
          }
        }

        // What slurmctld saw: one "exit status" line per failed EpilogSlurmctld.
        const ctldLog = daemonLog("slurmctld");
        const slurmFailed = new Set(
          [...ctldLog.matchAll(/_run_script: JobId=(\d+) EpilogSlurmctld exit status/g)].map((m) =>
            Number(m[1])
          ),
        );
        const journalFailed = new Set(
          j.runs.filter((r) => r.hook === "epilog_slurmctld" && r.kind !== "ok").map((r) => r.job),
        );
        assert.deepEqual(
          [...journalFailed].sort((a, b) => a - b),
          [...slurmFailed].sort((a, b) => a - b),
        );
        // One info line per hook run in each daemon's log.
        const runLines = (
          log: string,
          hook: string,
        ) => [
          ...log.matchAll(
            new RegExp(
              `prep/deno: ${hook} \\S+ job (\\d+): (\\w+)[^\\n]* in \\d+ ms \\((\\w+)\\)`,
              "g",
            ),
          ),
        ];
        assert.equal(runLines(ctldLog, "epilog_slurmctld").length, JOBS);
        assert.equal(runLines(daemonLog("slurmd"), "epilog").length, JOBS);
        assert.equal(runLines(daemonLog("slurmd"), "prolog").length, JOBS);

        if (mode === "warm") {
          // The service: one line per job, and none for a host it ended itself.
          const serve = new TextDecoder().decode(Deno.readFileSync(serveLog).subarray(serveFrom));
          const perJob = [
            ...serve.matchAll(
              /prep-deno serve: epilog_slurmd \S+ job (\d+): exit status 0 in \d+ ms/g,
            ),
          ];
          assert.deepEqual(
            perJob.map((m) => Number(m[1])).sort((x, y) => x - y),
            [...ids].sort((x, y) => x - y),
          );
          const timeouts = [
            ...serve.matchAll(
              /epilog_slurmctld \S+ job (\d+): exit status 124: timed out after 4 s in/g,
            ),
          ];
          assert.equal(timeouts.length, ids.filter((i) => ctldKind(i) === "timeout").length);
          assert.doesNotMatch(serve, /job \?/);
        }

        // history --job and stats agree.
        const probe = ids.find((i) => ctldKind(i) === "failed")!;
        const hist =
          (await prepDeno(["history", "--journal", h.journal, "--job", String(probe), "--json"]))
            .trim().split("\n").map((l) => JSON.parse(l));
        assert.deepEqual(hist.map((r) => r.hook).sort(), ["epilog", "epilog_slurmctld", "prolog"]);
        const failedText = await prepDeno([
          "history",
          "--journal",
          h.journal,
          "--failed",
          "--hook",
          "ctld.ts",
        ]);
        assert.equal(failedText.trim().split("\n").length, slurmFailed.size);
        const stats = (await prepDeno(["stats", "--journal", h.journal, "--json"])).trim().split(
          "\n",
        )
          .map((l) => JSON.parse(l));
        const ctldStats = stats.find((s) => s.hook === "epilog_slurmctld");
        assert.equal(ctldStats.runs, JOBS);
        assert.equal(ctldStats.failures, slurmFailed.size);
        assert.equal(ctldStats.kinds.timeout, ids.filter((i) => ctldKind(i) === "timeout").length);
        assert.ok(ctldStats.p99Ms >= TIMEOUT * 1000, `p99 ${ctldStats.p99Ms}`);

        // node_exporter serves the same counts.
        const text = await scrape(h.prom);
        assert.equal(sample(text, "node_textfile_scrape_error", {}), 0);
        const ctldLabels = { hook: "epilog_slurmctld", module: h.ctld, mode };
        for (const kind of ["ok", "threw", "timeout"] as const) {
          assert.equal(
            sample(text, "prep_deno_hook_runs_total", { ...ctldLabels, kind, daemon: "slurmctld" }),
            ids.filter((i) => ctldKind(i) === (kind === "threw" ? "failed" : kind)).length,
            kind,
          );
        }
        assert.equal(
          sample(text, "prep_deno_hook_timeouts_total", { ...ctldLabels, daemon: "slurmctld" }),
          ids.filter((i) => ctldKind(i) === "timeout").length,
        );
        assert.equal(
          sample(text, "prep_deno_hook_duration_seconds_count", {
            hook: "prolog",
            module: h.prolog,
            mode: "script",
            daemon: "slurmd",
          }),
          JOBS,
        );

        // Two failing Epilogs on one node: the first reason stays, cause first.
        // (A fresh cluster numbers jobs from 1: these are JOBS+1 and JOBS+2.)
        const a = await sbatch(["--wrap", "sleep 3"]);
        const b = await sbatch(["--wrap", "sleep 10"]);
        await waitJobState(b, ["RUNNING"], 120);
        assert.deepEqual([a, b], [JOBS + 1, JOBS + 2]);
        // The place of the throw in the hook comes first: epilog.ts line 3.
        const fanReason = `fan ${a} stopped at epilog.ts:3 (epilog epilog.ts)`;
        const first = await waitFor("the first drain", async () => {
          const n = await nodeState();
          return n.state.includes("DRAIN") ? n : undefined;
        }, 120);
        assert.equal(first.reason, fanReason);
        await waitFor(
          "the second epilog",
          () =>
            Promise.resolve(
              /node \S+ is drained already: keeps its reason/.test(daemonLog("slurmd")) ||
                undefined,
            ),
          120,
        );
        assert.equal((await nodeState()).reason, fanReason);
        const j2 = await readJournal(h.journal);
        const failedEpi = j2.runs.filter((r) => r.hook === "epilog" && r.kind !== "ok");
        assert.deepEqual(failedEpi.map((r) => r.job).sort(), [a, b]);
        assert.equal(
          failedEpi.find((r) => r.job === a)!.reason,
          fanReason,
        );
        assert.equal(failedEpi.find((r) => r.job === b)!.reason, undefined);
        await resumeNode();

        // slurmd SIGKILLed while hooks run: every run it logged is in the journal, whole.
        const more: number[] = [];
        for (let i = 0; i < 8; i++) more.push(await sbatch(["--wrap", "true"]));
        const slurmdPid = Number(Deno.readTextFileSync(join(CLUSTER_DIR, "slurmd.pid")));
        await waitFor("a finished epilog of the last jobs", () => {
          const log = daemonLog("slurmd");
          return Promise.resolve(
            more.some((id) => log.includes(`prep/deno: epilog epilog.ts job ${id}:`)) || undefined,
          );
        }, 120);
        Deno.kill(slurmdPid, "SIGKILL");
        const logged = runLines(daemonLog("slurmd"), "(?:prolog|epilog)");
        const after = await readJournal(h.journal);
        assert.equal(after.torn, 0);
        for (const m of logged) {
          const hook = m[0].includes("prep/deno: prolog ") ? "prolog" : "epilog";
          assert.ok(
            after.runs.some((r) =>
              r.job === Number(m[1]) && r.hook === hook && r.daemon === "slurmd"
            ),
            `logged but not journalled: ${m[0]}`,
          );
        }
      } finally {
        await stopCluster();
        Deno.removeSync(h.dir, { recursive: true });
      }
    },
  });
}
