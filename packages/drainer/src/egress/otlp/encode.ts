/**
 * Envelopes → OTLP, the inverse of the agent's OTLP ingress mapping (docs/OTLP.md, "Mapping"):
 * - resource: `service.name` = source_id, `service.instance.id` = instance_id, and the tags `tenant`, `app_name`,
 *   `process_type`, `source_type`; scope: the `otel.scope.name` tag, else `tailrace`;
 * - a log envelope → one LogRecord: body the payload (a string when it is UTF-8, else bytes), severity INFO (9) for
 *   OUT and ERROR (17) for ERR (or the `severity` tag's level where it agrees), `trace_id`/`span_id` tags back to
 *   ids, `event_name`, and the other tags as attributes (none with `disable-metadata=true`);
 * - a counter → a cumulative monotonic Sum of its total; each gauge metric → a Gauge; a timer → a Gauge of its
 *   duration in seconds at its stop time; events are not drained.
 * One item per record or data point; the writer groups a batch's items by resource and scope into one request.
 */
import { isUtf8 } from "node:buffer";
import type { Envelope } from "@tailrace/envelope";
import type { DrainData } from "../../binding/url.js";
import {
  CUMULATIVE,
  ExportLogsServiceRequest,
  ExportMetricsServiceRequest,
  fixed64,
  type KeyValue,
  type LogRecord,
  type Metric,
  type NumberDataPoint,
} from "./proto.js";

export type Signal = "logs" | "metrics";

export interface OtlpItem {
  signal: Signal;
  /** Resource and scope; items with the same key share them in a request. */
  key: string;
  resource: KeyValue[];
  scope: string;
  record: LogRecord | Metric;
  /** About what the item costs in a request, for batching. */
  bytes: number;
}

export interface OtlpEncodeOptions {
  drainData: DrainData;
  /** `disable-metadata=true`: records and points carry no attributes from the tags. */
  disableMetadata: boolean;
}

const SCOPE = "tailrace";
/** Tags that go to the resource, and tags that become fields of the record: none of them is also an attribute. */
const RESOURCE_TAGS = ["tenant", "app_name", "process_type", "source_type"];
const FIELD_TAGS = new Set([...RESOURCE_TAGS, "severity", "trace_id", "span_id", "event_name", "otel.scope.name"]);
const SEVERITY: Record<string, number> = { TRACE: 1, DEBUG: 5, INFO: 9, WARN: 13, ERROR: 17, FATAL: 21 };
const INFO = 9;
const ERROR = 17;

/** The doppler's unit spellings (as the agent writes them) → UCUM, which OTLP uses; anything else as it is. */
const UCUM: Record<string, string> = {
  bytes: "By",
  "B/s": "By/s",
  "bytes/s": "By/s",
  percentage: "%",
  kb: "kBy",
  kib: "KiBy",
  mb: "MBy",
  mib: "MiBy",
  gb: "GBy",
  gib: "GiBy",
};

/** A string protobuf may carry: lone surrogates (possible from JSON input) would not encode as valid UTF-8. */
function text(s: string): string {
  const w = s as string & { isWellFormed(): boolean; toWellFormed(): string };
  return w.isWellFormed() ? s : w.toWellFormed();
}

const kv = (key: string, value: string): KeyValue => ({ key, value: { stringValue: text(value) } });

function resourceOf(e: Envelope): { key: string; attrs: KeyValue[] } {
  const attrs = [kv("service.name", e.sourceId)];
  if (e.instanceId) attrs.push(kv("service.instance.id", e.instanceId));
  for (const t of RESOURCE_TAGS) {
    const v = e.tags[t];
    if (v !== undefined) attrs.push(kv(t, v));
  }
  return { key: JSON.stringify(attrs.map((a) => [a.key, a.value.stringValue])), attrs };
}

function attributesOf(e: Envelope, o: OtlpEncodeOptions, also: ReadonlySet<string> = FIELD_TAGS): { attrs: KeyValue[]; bytes: number } {
  const attrs: KeyValue[] = [];
  let bytes = 0;
  if (o.disableMetadata) return { attrs, bytes };
  for (const [k, v] of Object.entries(e.tags)) {
    if (also.has(k)) continue;
    attrs.push(kv(k, v));
    bytes += k.length + v.length + 4;
  }
  return { attrs, bytes };
}

/** A hex id of `size` bytes, or undefined (then the tag stays an attribute). */
function id(hex: string | undefined, size: number): Uint8Array | undefined {
  return hex !== undefined && hex.length === size * 2 && /^[0-9a-f]+$/i.test(hex) ? Buffer.from(hex, "hex") : undefined;
}

function logItem(e: Envelope & { log: NonNullable<Envelope["log"]> }, o: OtlpEncodeOptions): OtlpItem {
  const { key, attrs: resource } = resourceOf(e);
  const scope = e.tags["otel.scope.name"] || SCOPE;
  const traceId = id(e.tags.trace_id, 16);
  const spanId = id(e.tags.span_id, 8);
  // trace_id and span_id that are not ids stay attributes, as the agent would never have made them.
  const skip = new Set(FIELD_TAGS);
  if (!traceId) skip.delete("trace_id");
  if (!spanId) skip.delete("span_id");
  const { attrs, bytes } = attributesOf(e, o, skip);
  const err = e.log.type === "ERR";
  const named = SEVERITY[(e.tags.severity ?? "").toUpperCase()];
  const severityNumber = named !== undefined && named >= ERROR === err ? named : err ? ERROR : INFO;
  const p = e.log.payload;
  const payload = Buffer.from(p.buffer, p.byteOffset, p.byteLength);
  const time = fixed64(e.timestamp);
  const record: LogRecord = {
    timeUnixNano: time,
    observedTimeUnixNano: time,
    severityNumber,
    severityText: text(e.tags.severity || (err ? "ERROR" : "INFO")),
    body: isUtf8(payload) ? { stringValue: payload.toString("utf8") } : { bytesValue: payload },
    attributes: attrs,
    ...(traceId ? { traceId } : {}),
    ...(spanId ? { spanId } : {}),
    ...(e.tags.event_name ? { eventName: text(e.tags.event_name) } : {}),
  };
  return { signal: "logs", key: `${key}\0${scope}`, resource, scope, record, bytes: payload.length + bytes + 64 };
}

function metricItems(e: Envelope, o: OtlpEncodeOptions): OtlpItem[] {
  const { key, attrs: resource } = resourceOf(e);
  const scope = e.tags["otel.scope.name"] || SCOPE;
  const { attrs, bytes } = attributesOf(e, o);
  const time = fixed64(e.timestamp);
  const item = (record: Metric): OtlpItem => ({ signal: "metrics", key: `${key}\0${scope}`, resource, scope, record, bytes: bytes + 96 });
  const point = (p: Omit<NumberDataPoint, "attributes">): NumberDataPoint[] => [{ attributes: attrs, ...p }];
  if (e.counter) {
    // asInt is signed: a total past 2^63 - 1 (never seen in practice) is held there rather than wrapping negative.
    const total = e.counter.total > 2n ** 63n - 1n ? 2n ** 63n - 1n : e.counter.total;
    const sum = { aggregationTemporality: CUMULATIVE, isMonotonic: true, dataPoints: point({ timeUnixNano: time, asInt: fixed64(total) }) };
    return [item({ name: text(e.counter.name), unit: "", sum })];
  }
  if (e.gauge) {
    return Object.entries(e.gauge.metrics).map(([name, m]) =>
      item({
        name: text(name),
        unit: text(UCUM[m.unit] ?? m.unit),
        gauge: { dataPoints: point({ timeUnixNano: time, asDouble: m.value }) },
      }),
    );
  }
  if (e.timer) {
    const t = e.timer;
    const dataPoints = point({
      startTimeUnixNano: fixed64(t.start),
      timeUnixNano: fixed64(t.stop),
      asDouble: Number(t.stop - t.start) / 1e9,
    });
    return [item({ name: text(t.name), unit: "s", gauge: { dataPoints } })];
  }
  return [];
}

/** What a drain with these options sends for `e`: its log record, or its metrics' points, or nothing. */
export function otlpItems(e: Envelope, o: OtlpEncodeOptions): OtlpItem[] {
  if (e.log) return o.drainData === "metrics" ? [] : [logItem({ ...e, log: e.log }, o)];
  if (o.drainData === "logs") return [];
  return metricItems(e, o);
}

/** Items grouped by resource, then scope, each group in the order of its first item, records in order. */
function group<R>(items: OtlpItem[]): Array<{ resource: KeyValue[]; scopes: Array<{ scope: string; records: R[] }> }> {
  const byResource = new Map<string, { resource: KeyValue[]; scopes: Map<string, R[]> }>();
  for (const it of items) {
    const rkey = it.key.slice(0, it.key.lastIndexOf("\0"));
    let r = byResource.get(rkey);
    if (!r) byResource.set(rkey, (r = { resource: it.resource, scopes: new Map() }));
    let list = r.scopes.get(it.scope);
    if (!list) r.scopes.set(it.scope, (list = []));
    list.push(it.record as R);
  }
  return [...byResource.values()].map((r) => ({
    resource: r.resource,
    scopes: [...r.scopes].map(([scope, records]) => ({ scope, records })),
  }));
}

/** One ExportLogsServiceRequest or ExportMetricsServiceRequest holding `items`, all of `signal`. */
export function encodeRequest(signal: Signal, items: OtlpItem[]): Uint8Array {
  if (signal === "logs") {
    const resourceLogs = group<LogRecord>(items).map((g) => ({
      resource: { attributes: g.resource },
      scopeLogs: g.scopes.map((s) => ({ scope: { name: s.scope }, logRecords: s.records })),
    }));
    return ExportLogsServiceRequest.encode({ resourceLogs }).finish();
  }
  const resourceMetrics = group<Metric>(items).map((g) => ({
    resource: { attributes: g.resource },
    scopeMetrics: g.scopes.map((s) => ({ scope: { name: s.scope }, metrics: s.records })),
  }));
  return ExportMetricsServiceRequest.encode({ resourceMetrics }).finish();
}
