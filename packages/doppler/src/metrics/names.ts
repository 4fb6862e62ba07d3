/**
 * How envelope metric names become Prometheus names. The output passes `promtool check metrics`: snake_case, base
 * units spelled out as a suffix, no unit abbreviations, `_total` only on counters, and `_count`/`_sum`/`_bucket` only
 * on summaries. See docs/METRICS.md for the rules with examples.
 */

/** The agent's container metrics (Cloud Foundry's names) and the names and units they export as. */
export const CONTAINER_GAUGES: Readonly<Record<string, { name: string; help: string }>> = {
  cpu: { name: "tailrace_app_cpu_percent", help: "CPU used by the instance, in percent of one core." },
  memory: { name: "tailrace_app_memory_bytes", help: "Memory used by the instance." },
  memory_quota: { name: "tailrace_app_memory_quota_bytes", help: "Memory the instance may use." },
  disk: { name: "tailrace_app_disk_bytes", help: "Disk used by the instance." },
  disk_quota: { name: "tailrace_app_disk_quota_bytes", help: "Disk the instance may use." },
  log_rate: { name: "tailrace_app_log_rate_bytes_per_second", help: "Log bytes the instance emitted per second." },
  log_rate_limit: {
    name: "tailrace_app_log_rate_limit_bytes_per_second",
    help: "The instance's log rate limit in bytes per second; -1 when unlimited.",
  },
};

/** Units an envelope may name, the base unit they convert to, and the factor. */
const UNITS: Record<string, [suffix: string, factor: number]> = {
  ns: ["seconds", 1e-9],
  nanoseconds: ["seconds", 1e-9],
  us: ["seconds", 1e-6],
  µs: ["seconds", 1e-6],
  microseconds: ["seconds", 1e-6],
  ms: ["seconds", 1e-3],
  milliseconds: ["seconds", 1e-3],
  s: ["seconds", 1],
  sec: ["seconds", 1],
  secs: ["seconds", 1],
  second: ["seconds", 1],
  seconds: ["seconds", 1],
  m: ["seconds", 60],
  min: ["seconds", 60],
  minutes: ["seconds", 60],
  h: ["seconds", 3600],
  hours: ["seconds", 3600],
  b: ["bytes", 1],
  byte: ["bytes", 1],
  bytes: ["bytes", 1],
  kb: ["bytes", 1e3],
  kilobytes: ["bytes", 1e3],
  kib: ["bytes", 1024],
  mb: ["bytes", 1e6],
  megabytes: ["bytes", 1e6],
  mib: ["bytes", 1024 ** 2],
  gb: ["bytes", 1e9],
  gigabytes: ["bytes", 1e9],
  gib: ["bytes", 1024 ** 3],
  "%": ["percent", 1],
  percent: ["percent", 1],
  percentage: ["percent", 1],
  "b/s": ["bytes_per_second", 1],
  "bytes/s": ["bytes_per_second", 1],
};

/** Name tokens promtool refuses as unit abbreviations or non-base units; they go, their meaning moves to the suffix. */
const UNIT_TOKENS = new Set([
  "ns",
  "us",
  "ms",
  "s",
  "sec",
  "b",
  "kb",
  "mb",
  "gb",
  "tb",
  "pb",
  "m",
  "h",
  "d",
  "nanoseconds",
  "microseconds",
  "milliseconds",
  "minutes",
  "hours",
  "kilobytes",
  "megabytes",
  "gigabytes",
  "kib",
  "mib",
  "gib",
]);

/** Suffixes promtool keeps for counters, histograms and summaries. */
const TYPED_SUFFIX = /_(total|count|sum|bucket)$/;

/** snake_case with only `[a-z0-9_]`, no leading, trailing or doubled `_`; "" when nothing is left. */
export function snake(raw: string): string {
  return raw
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, "_")
    .replace(/_+/g, "_")
    .replace(/^_|_$/g, "");
}

export interface PromName {
  name: string;
  /** Multiply envelope values by this to get the base unit. */
  factor: number;
}

/**
 * The Prometheus family name of an app's own metric, or undefined when nothing usable is left.
 * - gauges: `http.latency` (unit `ms`) → `http_latency_seconds`, values ÷ 1000;
 * - counters: `requests` → `requests_total`;
 * - timers: `http.latency` → `http_latency_seconds` (a summary).
 */
export function appMetricName(raw: string, kind: "gauge" | "counter" | "timer", unit = ""): PromName | undefined {
  let tokens = snake(raw).split("_").filter(Boolean);
  if (kind === "counter" && tokens.at(-1) === "total") tokens = tokens.slice(0, -1);
  let conv = kind === "timer" ? UNITS.s : UNITS[unit.trim().toLowerCase()];
  // A unit named only in the name (`latency_ms`) counts as the unit.
  const last = tokens.at(-1);
  if (!conv && kind === "gauge" && last !== undefined && UNITS[last] && UNIT_TOKENS.has(last)) conv = UNITS[last];
  tokens = tokens.filter((t) => !UNIT_TOKENS.has(t));
  if (conv) tokens = tokens.filter((t) => t !== conv[0] && !(conv[0] === "bytes_per_second" && t === "per"));
  let name = tokens.join("_");
  if (!name) return undefined;
  if (/^[0-9]/.test(name)) name = `_${name}`;
  // Our own namespace stays ours: an app cannot shadow a container metric.
  if (name.startsWith("tailrace_") || name === "tailrace") name = `app_${name}`;
  if (conv) name = `${name}_${conv[0]}`;
  if (kind === "counter") name = `${name}_total`;
  else if (kind === "gauge" && TYPED_SUFFIX.test(name)) name = `${name}_value`;
  return { name, factor: conv ? conv[1] : 1 };
}

/** Tags that are Tailrace's own, or that labels already carry under another name: never copied as extra labels. */
const RESERVED_TAGS = new Set([
  "tenant",
  "source_id",
  "source_type",
  "app_name",
  "instance_id",
  "process_type",
  "partial",
  "job",
  "instance",
  "le",
  "quantile",
]);

/** At most this many extra labels per series come from an envelope's own tags (in name order). */
export const MAX_EXTRA_LABELS = 8;

/** The labels of an envelope's series: the four fixed ones, then its own tags, sanitised. */
export function seriesLabels(sourceId: string, instanceId: string, tags: Readonly<Record<string, string>>): Record<string, string> {
  const labels: Record<string, string> = {
    source_id: sourceId,
    app_name: tags.app_name ?? sourceId,
    instance_id: instanceId,
    process_type: tags.process_type ?? "",
  };
  let extra = 0;
  for (const key of Object.keys(tags).sort()) {
    if (extra >= MAX_EXTRA_LABELS) break;
    const name = snake(key);
    if (!name || RESERVED_TAGS.has(name) || RESERVED_TAGS.has(key) || /^[0-9]/.test(name) || name in labels) continue;
    labels[name] = tags[key] as string;
    extra++;
  }
  return labels;
}
