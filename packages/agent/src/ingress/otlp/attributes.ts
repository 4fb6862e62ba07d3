/**
 * OTLP AnyValues and attributes → envelope payloads and tags. Tags are bounded (see docs/AGENT.md, "OTLP"): at most
 * `maxAttributes` of them come from a record's attributes and its resource's, each value cut to `maxValueChars`, and
 * the names Tailrace sets itself can never be set from the body.
 */
import type { AnyValue, KeyValue } from "./proto.js";
import { toBigInt } from "./proto.js";

export interface TagLimits {
  /** Tags one envelope takes from attributes (record or data point first, then resource). */
  maxAttributes: number;
  /** Characters of one tag value; longer values are cut. */
  maxValueChars: number;
}

/** The envelope package's bound on a tag name. */
const MAX_KEY_CHARS = 256;

/** Tags the agent sets from its own knowledge; a body's attribute of the same name is dropped. */
export const RESERVED_TAGS: ReadonlySet<string> = new Set([
  "tenant",
  "source_id",
  "app_name",
  "source_type",
  "process_type",
  "instance_id",
  "partial",
  "trace_id",
  "span_id",
  "severity",
  "event_name",
  "otel.scope.name",
  "otel.dropped_attributes_count",
  // Assigning it would set the tags object's prototype rather than a tag.
  "__proto__",
]);

/** An AnyValue as plain JSON: kvlists become objects, bytes base64, 64-bit integers numbers (strings past 2^53). */
export function anyToJson(v: AnyValue | null | undefined): unknown {
  if (v === null || v === undefined) return null;
  if (v.stringValue !== null && v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== null && v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== null && v.intValue !== undefined) {
    const n = toBigInt(v.intValue) ?? 0n;
    return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
  }
  if (v.doubleValue !== null && v.doubleValue !== undefined) return Number.isFinite(v.doubleValue) ? v.doubleValue : String(v.doubleValue);
  if (v.bytesValue !== null && v.bytesValue !== undefined) return Buffer.from(v.bytesValue).toString("base64");
  // Nesting is bounded by the decoder (proto.ts, MAX_ANY_DEPTH), so this recursion is too.
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(anyToJson);
  if (v.kvlistValue) return Object.fromEntries((v.kvlistValue.values ?? []).map((kv) => [kv.key ?? "", anyToJson(kv.value)]));
  return null;
}

/** A string value as is; any other value as JSON; no value as "". */
export function anyToText(v: AnyValue | null | undefined): string {
  if (v?.stringValue !== null && v?.stringValue !== undefined) return v.stringValue;
  const j = anyToJson(v);
  return j === null ? "" : JSON.stringify(j);
}

/** `s` cut to at most `max` UTF-16 units, never inside a surrogate pair. */
export function cut(s: string, max: number): string {
  if (s.length <= max) return s;
  let end = max;
  const c = s.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--;
  return s.slice(0, end);
}

/**
 * Adds attributes to `tags` until `limits.maxAttributes` of them are in (counted in `state.added`): names already
 * there win (so a record's attribute beats its resource's), reserved and over-long names are dropped. `only`, when
 * given, picks the names to take. Returns how many were dropped.
 */
export function addAttributes(
  tags: Record<string, string>,
  attrs: KeyValue[] | null | undefined,
  limits: TagLimits,
  state: { added: number },
  only?: ReadonlySet<string>,
): number {
  let dropped = 0;
  for (const kv of attrs ?? []) {
    const key = kv.key ?? "";
    if (only && !only.has(key)) continue;
    if (key === "" || key.length > MAX_KEY_CHARS || RESERVED_TAGS.has(key)) {
      dropped++;
      continue;
    }
    if (Object.hasOwn(tags, key)) continue;
    if (state.added >= limits.maxAttributes) {
      dropped++;
      continue;
    }
    tags[key] = cut(anyToText(kv.value), limits.maxValueChars);
    state.added++;
  }
  return dropped;
}
