/**
 * CPU and memory per instance, from the agent's gauge envelopes (`cpu` in percent, `memory` in bytes; the agent
 * sends one per instance every TAILRACE_METRICS_INTERVAL), drawn as small SVG sparklines.
 */
import type { WireEnvelope } from "./envelope.js";

const POINTS = 60;
const SVG = "http://www.w3.org/2000/svg";

export interface Series {
  cpu: number[];
  memory: number[];
  memoryQuota?: number;
}

export class MetricsModel {
  readonly instances = new Map<string, Series>();
  private readonly seen = new Set<string>();

  /** Takes gauge envelopes; returns true when something changed. */
  push(envs: readonly WireEnvelope[]): boolean {
    let changed = false;
    for (const e of envs) {
      const m = e.gauge?.metrics;
      if (!m || (m.cpu === undefined && m.memory === undefined)) continue;
      // The recent read and the live tail overlap; a gauge is one point per instance and timestamp.
      const key = `${e.instance_id}|${e.timestamp}`;
      if (this.seen.has(key)) continue;
      this.seen.add(key);
      if (this.seen.size > 10_000) this.seen.clear();
      const inst = e.instance_id ?? "";
      let s = this.instances.get(inst);
      if (!s) {
        s = { cpu: [], memory: [] };
        this.instances.set(inst, s);
      }
      if (typeof m.cpu?.value === "number") push(s.cpu, m.cpu.value);
      if (typeof m.memory?.value === "number") push(s.memory, m.memory.value);
      if (typeof m.memory_quota?.value === "number") s.memoryQuota = m.memory_quota.value;
      changed = true;
    }
    return changed;
  }

  clear(): void {
    this.instances.clear();
    this.seen.clear();
  }
}

function push(a: number[], v: number): void {
  a.push(v);
  if (a.length > POINTS) a.shift();
}

/** SVG polyline points for `values` in a w×h box; the scale's top is at least `floor`. */
export function sparkPoints(values: readonly number[], w: number, h: number, floor = 0): string {
  if (values.length === 0) return "";
  const top = Math.max(floor, ...values) || 1;
  const step = values.length > 1 ? w / (values.length - 1) : 0;
  return values.map((v, i) => `${(i * step).toFixed(1)},${(h - (Math.max(0, v) / top) * (h - 2) - 1).toFixed(1)}`).join(" ");
}

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return `${n.toFixed(n >= 100 || u === 0 ? 0 : 1)} ${units[u]}`;
}

function spark(values: readonly number[], floor: number, cls: string): SVGSVGElement {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 120 24");
  svg.setAttribute("class", `spark ${cls}`);
  const line = document.createElementNS(SVG, "polyline");
  line.setAttribute("points", sparkPoints(values, 120, 24, floor));
  svg.appendChild(line);
  return svg;
}

/** Redraws the panel; a few instances and 60 points each, so a full redraw is cheap. */
export function renderMetrics(el: HTMLElement, model: MetricsModel): void {
  if (model.instances.size === 0) {
    const p = document.createElement("p");
    p.className = "muted";
    p.textContent = "No CPU or memory figures yet: the agent sends them every TAILRACE_METRICS_INTERVAL (15 s).";
    el.replaceChildren(p);
    return;
  }
  const rows: HTMLElement[] = [];
  for (const inst of [...model.instances.keys()].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))) {
    const s = model.instances.get(inst) as Series;
    const row = document.createElement("div");
    row.className = "metric";
    row.dataset.instance = inst;
    const name = document.createElement("span");
    name.className = "inst";
    name.textContent = `#${inst}`;
    const cpu = document.createElement("span");
    cpu.className = "val";
    cpu.textContent = `CPU ${s.cpu.length ? (s.cpu[s.cpu.length - 1] as number).toFixed(1) : "–"} %`;
    const mem = document.createElement("span");
    mem.className = "val";
    mem.textContent = `mem ${s.memory.length ? formatBytes(s.memory[s.memory.length - 1] as number) : "–"}`;
    row.append(name, spark(s.cpu, 5, "cpu"), cpu, spark(s.memory, 0, "mem"), mem);
    rows.push(row);
  }
  el.replaceChildren(...rows);
}
