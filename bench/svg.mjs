// A small line chart as SVG, written by the benchmarks beside their tables in docs/ (people would rather look at a
// curve than read one). No dependencies: axes, a log or linear x, one line per series, a legend.
import { writeFileSync } from "node:fs";

const W = 640;
const H = 360;
const PAD = { left: 60, right: 20, top: 40, bottom: 50 };
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"];

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

function niceMax(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/**
 * Writes a chart to `file`. `x.values` are the points' x (log scale when `x.log`); each series has one y per point.
 * `y.label` names the axis; series share it.
 */
export function lineChart(file, { title, x, y = {}, series }) {
  const pw = W - PAD.left - PAD.right;
  const ph = H - PAD.top - PAD.bottom;
  const xs = x.values;
  const fx = x.log ? (v) => Math.log10(Math.max(v, 1)) : (v) => v;
  const x0 = Math.min(...xs.map(fx));
  const x1 = Math.max(...xs.map(fx));
  const sx = (v) => PAD.left + (x1 === x0 ? pw / 2 : ((fx(v) - x0) / (x1 - x0)) * pw);
  const ymax = niceMax(Math.max(...series.flatMap((s) => s.values.filter((v) => Number.isFinite(v)))));
  const sy = (v) => PAD.top + ph - (v / ymax) * ph;
  const out = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
  );
  // The title as alternative text, for screen readers (and biome's a11y lint, which checks docs/*.svg).
  out.push(`<title>${esc(title)}</title>`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(title)}</text>`);
  for (let i = 0; i <= 5; i++) {
    const v = (ymax / 5) * i;
    const yy = sy(v);
    out.push(`<line x1="${PAD.left}" y1="${yy}" x2="${W - PAD.right}" y2="${yy}" stroke="#ddd"/>`);
    out.push(`<text x="${PAD.left - 6}" y="${yy + 4}" text-anchor="end">${esc(Math.round(v * 100) / 100)}</text>`);
  }
  for (const v of xs) {
    out.push(`<line x1="${sx(v)}" y1="${PAD.top}" x2="${sx(v)}" y2="${PAD.top + ph}" stroke="#eee"/>`);
    out.push(`<text x="${sx(v)}" y="${PAD.top + ph + 16}" text-anchor="middle">${esc(v.toLocaleString("en-US"))}</text>`);
  }
  out.push(`<text x="${PAD.left + pw / 2}" y="${H - 12}" text-anchor="middle">${esc(x.label)}${x.log ? " (log scale)" : ""}</text>`);
  if (y.label) out.push(`<text transform="translate(14 ${PAD.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(y.label)}</text>`);
  out.push(`<line x1="${PAD.left}" y1="${PAD.top + ph}" x2="${W - PAD.right}" y2="${PAD.top + ph}" stroke="black"/>`);
  out.push(`<line x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${PAD.top + ph}" stroke="black"/>`);
  series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length];
    const pts = xs.map((v, j) => [sx(v), sy(s.values[j])]).filter(([, yy]) => Number.isFinite(yy));
    out.push(
      `<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(" ")}"/>`,
    );
    for (const [a, b] of pts) out.push(`<circle cx="${a.toFixed(1)}" cy="${b.toFixed(1)}" r="3" fill="${c}"/>`);
    const ly = PAD.top + 8 + i * 16;
    out.push(`<rect x="${PAD.left + 10}" y="${ly - 8}" width="12" height="3" fill="${c}"/>`);
    out.push(`<text x="${PAD.left + 28}" y="${ly - 3}">${esc(s.label)}</text>`);
  });
  out.push("</svg>\n");
  writeFileSync(file, out.join("\n"));
}
