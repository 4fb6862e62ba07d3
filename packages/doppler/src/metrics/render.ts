/**
 * Renders one tenant's families as Prometheus text (0.0.4) with prom-client: a fresh Registry per scrape, a Gauge or
 * Counter per family, and a Summary per timer family whose values are the window's figures (see window.ts).
 */
import client from "prom-client";
import type { Family, Series } from "./store.js";

/** The quantiles each timer summary reports. */
export const QUANTILES = [0.5, 0.9, 0.99] as const;

export const CONTENT_TYPE = client.Registry.PROMETHEUS_CONTENT_TYPE;

/** A prom-client Summary whose values are computed from a window at scrape time rather than observed one by one. */
class WindowSummary extends client.Summary<string> {
  constructor(
    private readonly family: string,
    help: string,
    labelNames: string[],
    private readonly rows: Series[],
    private readonly nowMs: number,
  ) {
    super({ name: family, help, labelNames, percentiles: [...QUANTILES], registers: [] });
  }

  override async get() {
    const base = await super.get();
    const values: typeof base.values = [];
    for (const s of this.rows) {
      if (!s.window) continue;
      const f = s.window.figures(this.nowMs, QUANTILES);
      for (const [q, v] of f.quantiles) values.push({ labels: { ...s.labels, quantile: q }, value: v });
      values.push({ metricName: `${this.family}_sum`, labels: s.labels, value: f.sum });
      values.push({ metricName: `${this.family}_count`, labels: s.labels, value: f.count });
    }
    return { ...base, values };
  }
}

function labelNames(f: Family): string[] {
  const names = new Set<string>();
  for (const s of f.series.values()) for (const k of Object.keys(s.labels)) names.add(k);
  return [...names];
}

export async function renderTenant(families: Family[], nowMs = Date.now()): Promise<string> {
  const registry = new client.Registry();
  for (const f of families) {
    const names = labelNames(f);
    if (f.kind === "gauge") {
      const g = new client.Gauge({ name: f.name, help: f.help, labelNames: names, registers: [registry] });
      for (const s of f.series.values()) g.set(s.labels, s.value);
    } else if (f.kind === "counter") {
      const c = new client.Counter({ name: f.name, help: f.help, labelNames: names, registers: [registry] });
      for (const s of f.series.values()) c.inc(s.labels, s.value);
    } else {
      registry.registerMetric(new WindowSummary(f.name, f.help, names, [...f.series.values()], nowMs));
    }
  }
  if (families.length === 0) return "";
  return registry.metrics();
}
