/**
 * The Loggregator v2 envelope: the one type every stage of Tailrace passes along.
 * See https://github.com/cloudfoundry/loggregator-api/blob/master/v2/envelope.proto
 *
 * int64 fields are `bigint` here; the protojson form carries them as decimal strings.
 */

export type LogType = "OUT" | "ERR";

export interface Log {
  /** Raw bytes as the process wrote them, without the line terminator. Not necessarily valid UTF-8. */
  payload: Uint8Array;
  type: LogType;
}

export interface Counter {
  name: string;
  delta: bigint;
  total: bigint;
}

export interface GaugeValue {
  unit: string;
  value: number;
}

export interface Gauge {
  metrics: Record<string, GaugeValue>;
}

export interface Timer {
  name: string;
  /** Nanoseconds since the epoch. */
  start: bigint;
  stop: bigint;
}

export interface Event {
  title: string;
  body: string;
}

export interface Envelope {
  /** Nanoseconds since the epoch. */
  timestamp: bigint;
  sourceId: string;
  instanceId: string;
  /** Tailrace always sets `tenant`; agents also set `app_name`, `source_type` and `process_type`. */
  tags: Record<string, string>;
  /** Exactly one of the five message fields is set. */
  log?: Log;
  counter?: Counter;
  gauge?: Gauge;
  timer?: Timer;
  event?: Event;
}

export const KINDS = ["log", "counter", "gauge", "timer", "event"] as const;
export type Kind = (typeof KINDS)[number];

/** The names Log Cache uses for `envelope_types`. */
export const ENVELOPE_TYPES = ["LOG", "COUNTER", "GAUGE", "TIMER", "EVENT"] as const;
export type EnvelopeType = (typeof ENVELOPE_TYPES)[number];

export function kindOf(e: Envelope): Kind {
  if (e.log) return "log";
  if (e.counter) return "counter";
  if (e.gauge) return "gauge";
  if (e.timer) return "timer";
  return "event";
}

export function kindFromEnvelopeType(t: EnvelopeType): Kind {
  return t.toLowerCase() as Kind;
}

const NS_PER_MS = 1_000_000n;
// Wall-clock time at start-up plus the monotonic clock since: ns resolution, and never goes backwards within a
// process, so the envelopes one source emits keep their order when sorted by timestamp.
const EPOCH_NS = BigInt(Date.now()) * NS_PER_MS - process.hrtime.bigint();

export function nowNs(): bigint {
  return EPOCH_NS + process.hrtime.bigint();
}

export function nsToDate(ns: bigint): Date {
  return new Date(Number(ns / NS_PER_MS));
}

/** Builds a log envelope. `payload` may be a string (encoded as UTF-8) or raw bytes. */
export function logEnvelope(opts: {
  sourceId: string;
  instanceId?: string;
  tags: Record<string, string>;
  payload: string | Uint8Array;
  type?: LogType;
  timestamp?: bigint;
}): Envelope {
  return {
    timestamp: opts.timestamp ?? nowNs(),
    sourceId: opts.sourceId,
    instanceId: opts.instanceId ?? "",
    tags: opts.tags,
    log: {
      payload: typeof opts.payload === "string" ? Buffer.from(opts.payload, "utf8") : opts.payload,
      type: opts.type ?? "OUT",
    },
  };
}
