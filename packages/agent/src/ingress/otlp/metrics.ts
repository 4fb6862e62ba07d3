/**
 * OTLP metrics → Loggregator counters and gauges. The mapping, documented in docs/AGENT.md ("OTLP"):
 * - Sum, monotonic and cumulative → counter: `total` is the point's value (`delta` 0), which is what the doppler's
 *   tenant metrics export (a counter's total, never a sum of deltas);
 * - Gauge, and non-monotonic cumulative Sum → gauge, one metric per envelope, with the unit in the doppler's spelling;
 * - refused, and counted in partial_success: delta Sums (a total cannot be known from deltas without state a restart
 *   loses: set the exporter's temporality to cumulative), Histogram, ExponentialHistogram and Summary (no envelope
 *   holds a distribution; a timer is one observation), points without a value, negative or non-finite counters.
 * Names are kept as sent: the doppler turns them into Prometheus names (packages/doppler/src/metrics/names.ts).
 */
import type { Envelope } from "@tailrace/envelope";
import { addAttributes, type TagLimits } from "./attributes.js";
import type { Mapped, Placement } from "./logs.js";
import { CUMULATIVE, type Metric, type MetricsRequest, type NumberDataPoint, toBigInt, toU64 } from "./proto.js";

const MAX_NAME = 256;
const U64_MAX = (1n << 64n) - 1n;
const I64_MAX = (1n << 63n) - 1n;

/**
 * UCUM units as OpenTelemetry SDKs send them → the unit names the doppler converts to base units. Dimensionless `1`
 * and annotations such as `{request}` carry no unit. Anything else passes as sent.
 */
const UNITS: Record<string, string> = {
  ns: "ns",
  us: "us",
  ms: "ms",
  s: "s",
  min: "min",
  h: "h",
  By: "bytes",
  kBy: "kb",
  KBy: "kb",
  KiBy: "kib",
  MBy: "mb",
  MiBy: "mib",
  GBy: "gb",
  GiBy: "gib",
  "By/s": "bytes/s",
  "%": "%",
  "1": "",
};

export function unitOf(ucum: string | null | undefined): string {
  const u = (ucum ?? "").trim();
  if (/^\{[^}]*\}$/.test(u)) return "";
  return UNITS[u] ?? u.slice(0, MAX_NAME);
}

function pointValue(dp: NumberDataPoint): { int?: bigint; num: number } | undefined {
  if (dp.asDouble !== null && dp.asDouble !== undefined) return { num: dp.asDouble };
  const int = toBigInt(dp.asInt);
  return int === undefined ? undefined : { int, num: Number(int) };
}

export function metricsToEnvelopes(
  req: MetricsRequest,
  p: Placement,
  limits: TagLimits,
  resourceLabels: ReadonlySet<string>,
  now: () => bigint,
): Mapped {
  const out: Mapped = { envelopes: [], rejected: 0, error: "" };
  const refuse = (n: number, why: string) => {
    if (n === 0) return;
    out.rejected += n;
    out.error ||= why;
  };
  for (const [i, rm] of (req.resourceMetrics ?? []).entries()) {
    const resource = rm.resource?.attributes;
    for (const [j, sm] of (rm.scopeMetrics ?? []).entries()) {
      for (const [k, m] of (sm.metrics ?? []).entries()) {
        const at = `resourceMetrics[${i}].scopeMetrics[${j}].metrics[${k}]`;
        const kind = kindOf(m);
        const points = pointCount(m);
        if (kind.refuse) {
          refuse(points, `${at}: ${kind.refuse}`);
          continue;
        }
        const name = m.name ?? "";
        if (name.trim() === "" || name.length > MAX_NAME) {
          refuse(points, `${at}: name must be 1-${MAX_NAME} characters`);
          continue;
        }
        const unit = unitOf(m.unit);
        for (const [d, dp] of (kind.points ?? []).entries()) {
          const where = `${at}.dataPoints[${d}]`;
          const v = pointValue(dp);
          const time = toU64(dp.timeUnixNano);
          if (!v || !Number.isFinite(v.num)) {
            refuse(1, `${where}: no finite value`);
            continue;
          }
          if (time !== undefined && time > I64_MAX) {
            refuse(1, `${where}: time_unix_nano out of range`);
            continue;
          }
          const tags: Record<string, string> = { ...p.tags };
          const state = { added: 0 };
          const dropped = addAttributes(tags, dp.attributes, limits, state) + addAttributes(tags, resource, limits, state, resourceLabels);
          if (dropped > 0) tags["otel.dropped_attributes_count"] = String(dropped);
          const e: Envelope = { timestamp: time && time > 0n ? time : now(), sourceId: p.app, instanceId: p.instanceId, tags };
          if (kind.counter) {
            const total = v.int ?? BigInt(Math.floor(v.num));
            if (total < 0n || total > U64_MAX) {
              refuse(1, `${where}: a monotonic sum must be 0 or more`);
              continue;
            }
            e.counter = { name, delta: 0n, total };
          } else {
            e.gauge = { metrics: { [name]: { unit, value: v.num } } };
          }
          out.envelopes.push(e);
        }
      }
    }
  }
  return out;
}

interface Kind {
  points?: NumberDataPoint[];
  counter?: boolean;
  refuse?: string;
}

function kindOf(m: Metric): Kind {
  if (m.gauge) return { points: m.gauge.dataPoints ?? [] };
  if (m.sum) {
    const points = m.sum.dataPoints ?? [];
    if (m.sum.aggregationTemporality !== CUMULATIVE) {
      return { refuse: "only cumulative sums are taken (set the exporter's temporality preference to cumulative)" };
    }
    return { points, counter: m.sum.isMonotonic === true };
  }
  if (m.histogram) return { refuse: "histograms are not taken: no envelope holds a distribution" };
  if (m.exponentialHistogram) return { refuse: "exponential histograms are not taken: no envelope holds a distribution" };
  if (m.summary) return { refuse: "summaries are not taken: no envelope holds a distribution" };
  return { points: [] };
}

function pointCount(m: Metric): number {
  const data = m.gauge ?? m.sum ?? m.histogram ?? m.exponentialHistogram ?? m.summary;
  return data?.dataPoints?.length ?? 0;
}
