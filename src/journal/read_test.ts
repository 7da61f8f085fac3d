// SPDX-License-Identifier: GPL-2.0-or-later
import assert from "node:assert/strict";
import { crc32, parseJournal, readJournal } from "./read.ts";
import { hookStats, parseSince, percentile, selectRuns } from "./query.ts";

const enc = new TextEncoder();
const record = (o: Record<string, unknown>) => {
  const json = enc.encode(JSON.stringify(o));
  return new Uint8Array([
    0x1e,
    ...enc.encode(crc32(json).toString(16).padStart(8, "0") + " "),
    ...json,
    0x0a,
  ]);
};
const run = (job: number, kind: string, ms: number, hook = "prolog") => ({
  t: 1000 * job,
  type: "run",
  job,
  hook,
  module: "/h/site.ts",
  kind,
  duration_ms: ms,
  output: "",
});

Deno.test("journal: a torn record is skipped and the next one still read", () => {
  const a = record(run(1, "ok", 10));
  const b = record(run(2, "threw", 20));
  const torn = a.subarray(0, a.length - 7); // a write cut short
  const j = parseJournal(new Uint8Array([...torn, ...b]));
  assert.equal(j.torn, 1);
  assert.deepEqual(j.runs.map((r) => r.job), [2]);
});

Deno.test("journal: a flipped byte fails the checksum", () => {
  const a = record(run(1, "ok", 10));
  a[a.length - 5] ^= 1;
  assert.equal(parseJournal(a).torn, 1);
});

Deno.test("journal: journal.1 first, reasons joined to the failing run", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeFileSync(`${dir}/j.1`, record(run(1, "ok", 10)));
    Deno.writeFileSync(
      `${dir}/j`,
      new Uint8Array([
        ...record(run(2, "threw", 20)),
        ...record({
          t: 3,
          type: "reason",
          job: 2,
          hook: "prolog",
          module: "/h/site.ts",
          reason: "x",
        }),
      ]),
    );
    const j = await readJournal(`${dir}/j`);
    assert.deepEqual(j.runs.map((r) => [r.job, r.reason]), [[1, undefined], [2, "x"]]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("query: filters, --since ages, nearest-rank percentiles, per-hook figures", () => {
  const runs = [run(1, "ok", 10), run(2, "threw", 30), run(3, "ok", 20), run(4, "ok", 5, "epilog")];
  // deno-lint-ignore no-explicit-any
  const rs = runs as any;
  assert.deepEqual(selectRuns(rs, { failed: true }).map((r) => r.job), [2]);
  assert.deepEqual(selectRuns(rs, { hook: "site.ts", since: 2000 }).map((r) => r.job), [2, 3, 4]);
  assert.deepEqual(selectRuns(rs, { job: 3 }).map((r) => r.job), [3]);
  assert.equal(parseSince("2h", 10_000_000), 10_000_000 - 7_200_000);
  assert.equal(parseSince("nonsense"), undefined);
  assert.equal(percentile([1, 2, 3, 4], 50), 2);
  assert.equal(percentile([1, 2, 3, 4], 99), 4);
  const s = hookStats(rs);
  assert.deepEqual(s.map((x) => [x.hook, x.runs, x.failures, x.p50Ms, x.p99Ms]), [
    ["epilog", 1, 0, 5, 5],
    ["prolog", 3, 1, 20, 30],
  ]);
});
