// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The benchmark plot: p50 latency and throughput per path and mode, as two
 * horizontal bar charts in one SVG, written with no browser.
 *
 * @module
 */

/** One measured row. */
export interface PlotRow {
  /** Path (bash under run_command, spawn, warm fresh, ...). */
  path: string;
  /** `sequential` or `32-way`. */
  mode: string;
  /** Median latency, ms. */
  p50: number;
  /** Hooks per second. */
  perSecond: number;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/**
 * An SVG with one bar per row in each of two panels.
 *
 * @example
 * ```ts
 * const svg = plotSvg([{ path: "spawn", mode: "sequential", p50: 40, perSecond: 25 }], "title");
 * ```
 */
export function plotSvg(rows: readonly PlotRow[], title: string): string {
  const labelW = 330, barW = 300, rowH = 18, gap = 40, valueW = 70;
  const panelH = rows.length * rowH + 30;
  const width = labelW + barW + valueW + 20;
  const height = 40 + 2 * panelH + gap;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`,
  ];
  const panel = (
    top: number,
    heading: string,
    value: (r: PlotRow) => number,
    unit: string,
  ) => {
    // Log scale: the rows span three orders of magnitude.
    const max = Math.max(...rows.map(value), 1);
    const scale = (v: number) => v <= 1 ? 1 : (Math.log10(v) / Math.log10(max)) * barW;
    out.push(`<text x="10" y="${top + 14}" font-weight="bold">${esc(heading)} (log scale)</text>`);
    rows.forEach((r, i) => {
      const y = top + 24 + i * rowH;
      const v = value(r);
      const color = r.mode === "sequential" ? "#4878a8" : "#d08a3c";
      out.push(
        `<text x="${labelW - 6}" y="${y + 12}" text-anchor="end">${
          esc(`${r.path}, ${r.mode}`)
        }</text>`,
        `<rect x="${labelW}" y="${y + 2}" width="${Math.max(1, scale(v)).toFixed(1)}" height="${
          rowH - 5
        }" fill="${color}"/>`,
        `<text x="${(labelW + Math.max(1, scale(v)) + 4).toFixed(1)}" y="${y + 12}">${
          v >= 100 ? v.toFixed(0) : v.toFixed(1)
        } ${unit}</text>`,
      );
    });
  };
  panel(30, "p50 latency, ms (shorter is better)", (r) => r.p50, "ms");
  panel(30 + panelH + gap, "throughput, hooks/s (longer is better)", (r) => r.perSecond, "/s");
  out.push("</svg>");
  return out.join("\n") + "\n";
}
