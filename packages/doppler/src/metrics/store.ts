/**
 * The tenants' app metrics as this doppler last saw them in the stream: per tenant, families of series (gauges,
 * counters and timer windows), each with the time of its last envelope. Nothing here is state NATS cannot rebuild:
 * a doppler that starts reads the last staleness window back from the stream (see consumer.ts).
 *
 * - Staleness: a series whose last envelope is older than `staleMs` is not rendered and is swept away.
 * - Order: an envelope older than the series' last one is ignored, so a counter never goes backwards by replay.
 * - Counters: the envelope's `total` (never a sum of deltas): it survives agent restarts and is the same on every doppler.
 * - Cardinality: at most `maxSeries` per tenant. Past it, new series are refused and counted; known ones keep updating.
 */
import type { Envelope } from "@tailrace/envelope";
import { appMetricName, CONTAINER_GAUGES, seriesLabels } from "./names.js";
import { SLICES, TimerWindow } from "./window.js";

export type FamilyKind = "gauge" | "counter" | "summary";

export interface Series {
  labels: Record<string, string>;
  /** Envelope timestamp (ms) of the last update. */
  at: number;
  /** Gauges and counters. */
  value: number;
  /** Timers. */
  window?: TimerWindow;
}

export interface Family {
  name: string;
  kind: FamilyKind;
  help: string;
  series: Map<string, Series>;
}

export interface Refusal {
  tenant: string;
  sourceId: string;
  /** The family and labels refused, for the notice. */
  family: string;
  labels: Record<string, string>;
  reason: "cardinality" | "type_conflict";
}

export interface StoreOptions {
  staleMs: number;
  maxSeriesPerTenant: number;
  onRefuse?: (r: Refusal) => void;
  /** For tests; Date.now by default. */
  now?: () => number;
}

class TenantState {
  readonly families = new Map<string, Family>();
  series = 0;
  refused = 0;
}

interface LabelCache {
  labels: Record<string, string>;
  key: string;
}

const NS_PER_MS = 1_000_000n;

export class MetricsStore {
  private readonly tenants = new Map<string, TenantState>();
  private readonly now: () => number;
  /** Per decoded tags object: the labels of each source/instance, so a batch computes them once. */
  private labelCache = new WeakMap<object, Map<string, LabelCache>>();
  /** Series refused since start, all tenants. */
  refused = 0;

  constructor(private readonly o: StoreOptions) {
    this.now = o.now ?? Date.now;
  }

  get staleMs(): number {
    return this.o.staleMs;
  }

  /** Takes one envelope of any kind; logs and events are ignored. `tenant` comes from the subject, never the tags. */
  ingest(tenant: string, e: Envelope): void {
    if (e.gauge) {
      const at = Number(e.timestamp / NS_PER_MS);
      for (const [metric, g] of Object.entries(e.gauge.metrics)) {
        const container = CONTAINER_GAUGES[metric];
        if (container) {
          this.set(tenant, e, container.name, "gauge", container.help, at, g.value);
          continue;
        }
        const n = appMetricName(metric, "gauge", g.unit);
        if (n) this.set(tenant, e, n.name, "gauge", helpFor("gauge", metric, g.unit), at, g.value * n.factor);
      }
    } else if (e.counter) {
      const n = appMetricName(e.counter.name, "counter");
      if (n) {
        const at = Number(e.timestamp / NS_PER_MS);
        this.set(tenant, e, n.name, "counter", helpFor("counter", e.counter.name), at, Number(e.counter.total));
      }
    } else if (e.timer) {
      const n = appMetricName(e.timer.name, "timer");
      if (!n) return;
      const at = Number(e.timer.stop / NS_PER_MS) || Number(e.timestamp / NS_PER_MS);
      const seconds = Math.max(0, Number(e.timer.stop - e.timer.start) / 1e9);
      const s = this.series(tenant, e, n.name, "summary", helpFor("timer", e.timer.name));
      if (!s) return;
      s.window ??= new TimerWindow(Math.max(1, Math.ceil(this.o.staleMs / SLICES)));
      s.window.observe(at, seconds);
      if (at > s.at) s.at = at;
    }
  }

  private set(tenant: string, e: Envelope, name: string, kind: FamilyKind, help: string, at: number, value: number): void {
    const s = this.series(tenant, e, name, kind, help);
    if (!s || at < s.at || !Number.isFinite(value)) return;
    s.at = at;
    s.value = value;
  }

  /** Finds or creates the series; undefined when refused. */
  private series(tenant: string, e: Envelope, name: string, kind: FamilyKind, help: string): Series | undefined {
    let t = this.tenants.get(tenant);
    if (!t) {
      t = new TenantState();
      this.tenants.set(tenant, t);
    }
    const { labels, key } = this.labelsOf(e);
    let f = t.families.get(name);
    if (f && f.kind !== kind) {
      this.refuse(t, { tenant, sourceId: e.sourceId, family: name, labels, reason: "type_conflict" });
      return undefined;
    }
    let s = f?.series.get(key);
    if (s) return s;
    if (t.series >= this.o.maxSeriesPerTenant) {
      this.refuse(t, { tenant, sourceId: e.sourceId, family: name, labels, reason: "cardinality" });
      return undefined;
    }
    if (!f) {
      f = { name, kind, help, series: new Map() };
      t.families.set(name, f);
    }
    s = { labels, at: 0, value: 0 };
    f.series.set(key, s);
    t.series++;
    return s;
  }

  private refuse(t: TenantState, r: Refusal): void {
    t.refused++;
    this.refused++;
    this.o.onRefuse?.(r);
  }

  private labelsOf(e: Envelope): LabelCache {
    let perTags = this.labelCache.get(e.tags);
    if (!perTags) {
      perTags = new Map();
      this.labelCache.set(e.tags, perTags);
    }
    const id = `${e.sourceId}\u0000${e.instanceId}`;
    let c = perTags.get(id);
    if (!c) {
      const labels = seriesLabels(e.sourceId, e.instanceId, e.tags);
      c = { labels, key: Object.entries(labels).flat().join("\u0000") };
      perTags.set(id, c);
    }
    return c;
  }

  private fresh(s: Series, now: number): boolean {
    if (s.window) return !s.window.empty(now);
    return now - s.at <= this.o.staleMs;
  }

  /** The tenant's families with only their fresh series, sorted by name; empty families left out. */
  snapshot(tenant: string): Family[] {
    const t = this.tenants.get(tenant);
    if (!t) return [];
    const now = this.now();
    const out: Family[] = [];
    for (const f of t.families.values()) {
      const series = new Map<string, Series>();
      for (const [k, s] of f.series) if (this.fresh(s, now)) series.set(k, s);
      if (series.size) out.push({ ...f, series });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Removes stale series (and empty families and tenants); returns how many went. */
  sweep(): number {
    const now = this.now();
    let removed = 0;
    for (const [tenant, t] of this.tenants) {
      for (const [name, f] of t.families) {
        for (const [k, s] of f.series) {
          if (this.fresh(s, now)) continue;
          f.series.delete(k);
          t.series--;
          removed++;
        }
        if (f.series.size === 0) t.families.delete(name);
      }
      if (t.families.size === 0) this.tenants.delete(tenant);
    }
    // Label caches hang off decoded tags objects; dropping the map lets old ones go with their batches.
    this.labelCache = new WeakMap();
    return removed;
  }

  /** Series held, all tenants or one. */
  seriesCount(tenant?: string): number {
    if (tenant !== undefined) return this.tenants.get(tenant)?.series ?? 0;
    let n = 0;
    for (const t of this.tenants.values()) n += t.series;
    return n;
  }

  tenantCount(): number {
    return this.tenants.size;
  }
}

function helpFor(kind: "gauge" | "counter" | "timer", raw: string, unit = ""): string {
  const u = unit ? ` (unit ${unit} as sent, converted to the base unit)` : "";
  if (kind === "counter") return `App counter ${raw}: its total as last sent.`;
  if (kind === "timer") return `App timer ${raw} in seconds, over the last staleness window.`;
  return `App gauge ${raw}${u}.`;
}
