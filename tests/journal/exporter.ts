// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Debian's real node_exporter for the metrics tests: started on a spare
 * loopback port with the textfile collector only, scraped over HTTP once,
 * stopped.
 */
import { waitFor } from "../slurm/cluster.ts";

/** Scrapes node_exporter (textfile collector only) serving `dir` on a spare loopback port. */
export async function scrape(dir: string, portOffset = 41): Promise<string> {
  const port = Number(Deno.env.get("CLUSTER_PORT") ?? 16817) + portOffset;
  const exporter = new Deno.Command("prometheus-node-exporter", {
    args: [
      `--web.listen-address=127.0.0.1:${port}`,
      "--collector.disable-defaults",
      "--collector.textfile",
      `--collector.textfile.directory=${dir}`,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    return await waitFor("node_exporter", async () => {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/metrics`);
        return r.ok ? await r.text() : undefined;
      } catch {
        return undefined;
      }
    }, 30);
  } finally {
    exporter.kill("SIGTERM");
    await exporter.status;
  }
}

/** The value of one sample in a scrape, 0 if absent. */
export function sample(text: string, name: string, labels: Record<string, string>): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split("\n")) {
    if (!line.startsWith(name + "{")) continue;
    const body = line.slice(name.length + 1, line.lastIndexOf("}"));
    const have = body.split(",");
    if (want.every((w) => have.includes(w))) return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return 0;
}
