/**
 * Loggregator v2's protojson form, as Log Cache serves it (original field names, int64 as strings, bytes as base64),
 * so existing Loggregator and Log Cache clients parse what we emit.
 */
import type { Envelope, GaugeValue, LogType } from "./envelope.js";
import { InvalidEnvelopeError } from "./errors.js";
import { setOwn } from "./own.js";
import { validateEnvelope } from "./validate.js";

const q = JSON.stringify;

/** Rendered tags per tags object: envelopes decoded from one batch share their tags object (see codec.ts). */
const tagsCache = new WeakMap<Record<string, string>, string>();

function tagsJson(tags: Record<string, string>): string {
  const hit = tagsCache.get(tags);
  if (hit !== undefined) return hit;
  let out = "{";
  let first = true;
  for (const k in tags) {
    out += `${first ? "" : ","}${q(k)}:${q(tags[k])}`;
    first = false;
  }
  out += "}";
  tagsCache.set(tags, out);
  return out;
}

/** Renders one envelope as protojson text. Hand-built because it sits on the doppler's per-envelope hot path. */
export function toProtoJson(e: Envelope): string {
  let body: string;
  if (e.log) {
    body = `"log":{"payload":"${Buffer.from(e.log.payload.buffer, e.log.payload.byteOffset, e.log.payload.byteLength).toString("base64")}","type":"${e.log.type}"}`;
  } else if (e.counter) {
    body = `"counter":{"name":${q(e.counter.name)},"delta":"${e.counter.delta}","total":"${e.counter.total}"}`;
  } else if (e.gauge) {
    let m = "";
    for (const name in e.gauge.metrics) {
      const g = e.gauge.metrics[name] as GaugeValue;
      m += `${m ? "," : ""}${q(name)}:{"unit":${q(g.unit)},"value":${g.value}}`;
    }
    body = `"gauge":{"metrics":{${m}}}`;
  } else if (e.timer) {
    body = `"timer":{"name":${q(e.timer.name)},"start":"${e.timer.start}","stop":"${e.timer.stop}"}`;
  } else if (e.event) {
    body = `"event":{"title":${q(e.event.title)},"body":${q(e.event.body)}}`;
  } else {
    body = "";
  }
  return `{"timestamp":"${e.timestamp}","source_id":${q(e.sourceId)},"instance_id":${q(e.instanceId)},"deprecated_tags":{},"tags":${tagsJson(e.tags)}${body ? `,${body}` : ""}}`;
}

/** `{"batch":[...]}`, the body of a websocket frame and of the agent's HTTP ingress. */
export function toProtoJsonBatch(batch: readonly Envelope[]): string {
  let out = '{"batch":[';
  for (let i = 0; i < batch.length; i++) out += (i ? "," : "") + toProtoJson(batch[i] as Envelope);
  return `${out}]}`;
}

type Json = Record<string, unknown>;

function fail(path: string, message: string): never {
  throw new InvalidEnvelopeError(message, path);
}

function obj(path: string, v: unknown): Json {
  if (typeof v !== "object" || v === null || Array.isArray(v)) fail(path, "must be an object");
  return v as Json;
}

function only(path: string, o: Json, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) fail(path, `unknown field ${q(k)}`);
}

/** protojson accepts both the original and the lowerCamel name of a field. */
function field(o: Json, name: string, camel?: string): unknown {
  return o[name] ?? (camel ? o[camel] : undefined);
}

function str(path: string, v: unknown, dflt = ""): string {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== "string") fail(path, "must be a string");
  return v;
}

const INT = /^-?\d{1,20}$/;

function int64(path: string, v: unknown): bigint {
  if (v === undefined || v === null) return 0n;
  if (typeof v === "number" && Number.isSafeInteger(v)) return BigInt(v);
  if (typeof v === "string" && INT.test(v)) return BigInt(v);
  fail(path, "must be an integer, as a string");
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

function bytes(path: string, v: unknown): Uint8Array {
  if (v === undefined || v === null) return new Uint8Array(0);
  if (typeof v !== "string" || !BASE64.test(v)) fail(path, "must be base64");
  return Buffer.from(v, "base64");
}

function logType(path: string, v: unknown): LogType {
  if (v === undefined || v === null || v === "OUT" || v === 0) return "OUT";
  if (v === "ERR" || v === 1) return "ERR";
  fail(path, "must be OUT or ERR");
}

/** Parses and validates one protojson envelope. Throws {@link InvalidEnvelopeError} naming the field at fault. */
export function fromProtoJson(value: unknown, path = "envelope"): Envelope {
  const o = obj(path, value);
  only(path, o, [
    "timestamp",
    "source_id",
    "sourceId",
    "instance_id",
    "instanceId",
    "deprecated_tags",
    "deprecatedTags",
    "tags",
    "log",
    "counter",
    "gauge",
    "timer",
    "event",
  ]);
  const tagsIn = field(o, "tags") ?? {};
  const tags: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj(`${path}.tags`, tagsIn))) setOwn(tags, k, str(`${path}.tags.${k}`, v));
  const e: Envelope = {
    timestamp: int64(`${path}.timestamp`, o.timestamp),
    sourceId: str(`${path}.source_id`, field(o, "source_id", "sourceId")),
    instanceId: str(`${path}.instance_id`, field(o, "instance_id", "instanceId")),
    tags,
  };
  if (o.log !== undefined) {
    const l = obj(`${path}.log`, o.log);
    only(`${path}.log`, l, ["payload", "type"]);
    e.log = { payload: bytes(`${path}.log.payload`, l.payload), type: logType(`${path}.log.type`, l.type) };
  }
  if (o.counter !== undefined) {
    const c = obj(`${path}.counter`, o.counter);
    only(`${path}.counter`, c, ["name", "delta", "total"]);
    e.counter = {
      name: str(`${path}.counter.name`, c.name),
      delta: int64(`${path}.counter.delta`, c.delta),
      total: int64(`${path}.counter.total`, c.total),
    };
  }
  if (o.gauge !== undefined) {
    const g = obj(`${path}.gauge`, o.gauge);
    only(`${path}.gauge`, g, ["metrics"]);
    const metrics: Record<string, GaugeValue> = {};
    for (const [name, mv] of Object.entries(obj(`${path}.gauge.metrics`, g.metrics ?? {}))) {
      const m = obj(`${path}.gauge.metrics.${name}`, mv);
      only(`${path}.gauge.metrics.${name}`, m, ["unit", "value"]);
      const value = m.value ?? 0;
      if (typeof value !== "number") fail(`${path}.gauge.metrics.${name}.value`, "must be a number");
      setOwn(metrics, name, { unit: str(`${path}.gauge.metrics.${name}.unit`, m.unit), value });
    }
    e.gauge = { metrics };
  }
  if (o.timer !== undefined) {
    const t = obj(`${path}.timer`, o.timer);
    only(`${path}.timer`, t, ["name", "start", "stop"]);
    e.timer = {
      name: str(`${path}.timer.name`, t.name),
      start: int64(`${path}.timer.start`, t.start),
      stop: int64(`${path}.timer.stop`, t.stop),
    };
  }
  if (o.event !== undefined) {
    const ev = obj(`${path}.event`, o.event);
    only(`${path}.event`, ev, ["title", "body"]);
    e.event = { title: str(`${path}.event.title`, ev.title), body: str(`${path}.event.body`, ev.body) };
  }
  validateEnvelope(e, path);
  return e;
}

/** Parses `{"batch":[...]}` text. Throws {@link InvalidEnvelopeError} for bad JSON or any bad envelope. */
export function fromProtoJsonBatch(text: string): Envelope[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new InvalidEnvelopeError(`not valid JSON (${(err as Error).message})`, undefined, { cause: err });
  }
  const o = obj("body", parsed);
  only("body", o, ["batch"]);
  if (!Array.isArray(o.batch)) fail("body.batch", "must be an array");
  return o.batch.map((v, i) => fromProtoJson(v, `batch[${i}]`));
}
