// SPDX-License-Identifier: GPL-2.0-or-later
// The warm service's textfile (`serve --metrics PATH`), served by Debian's
// real node_exporter: the warm hosts of a (hook, module) and their memory;
// and the service logs one line per job, none for hosts it ends itself.
import assert from "node:assert/strict";
import { join } from "node:path";
import { env, opts, startService } from "../warm/service.ts";
import { sample, scrape } from "./exporter.ts";
import { waitFor } from "../slurm/cluster.ts";

Deno.test({
  name: "warm metrics: hosts and their memory, through node_exporter; one log line per job",
  ...opts,
  async fn() {
    const prom = Deno.makeTempDirSync({ dir: "/var/tmp", prefix: "prep-deno-warm-prom-" });
    try {
      await using s = await startService(["--metrics", join(prom, "warm.prom")]);
      const path = s.hook(
        "metered",
        `export const prolog = (job) => { console.log("job", job.id); };`,
        { warm: { mode: "reuse" } },
      );
      for (const id of [1, 2, 3]) {
        const o = await s.plugin.runHooks(s.cfg(), [path], env(id));
        assert.equal(o.fallback, undefined, o.output);
        assert.equal(o.exitCode, 0, o.output);
      }
      const labels = { hook: "prolog", module: path, mode: "reuse" };
      // Written after each job and every 5 s: wait for one after the host was released.
      const text = await waitFor("the textfile with the idle host", async () => {
        const t = await scrape(prom, 42);
        return sample(t, "prep_deno_warm_hosts", labels) === 1 &&
            sample(t, "prep_deno_warm_hosts_busy", labels) === 0
          ? t
          : undefined;
      }, 60);
      assert.equal(sample(text, "node_textfile_scrape_error", {}), 0);
      // A host's tree (launcher, bwrap, Deno) holds more than 10 MB.
      assert.ok(sample(text, "prep_deno_warm_host_memory_bytes", labels) > 10e6);
      const lines = [
        ...s.log().matchAll(
          /prep-deno serve: prolog_slurmd \S+ job (\d+): exit status 0 in \d+ ms/g,
        ),
      ];
      assert.deepEqual(lines.map((m) => Number(m[1])), [1, 2, 3]);
    } finally {
      Deno.removeSync(prom, { recursive: true });
    }
  },
});
