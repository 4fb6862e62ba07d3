/**
 * The pipeline's own telemetry, shared by every process: one OpenTelemetry MeterProvider per component, read by the
 * OpenTelemetry Prometheus exporter without its own HTTP server. Each process serves {@link Telemetry.text} on its
 * existing `GET /metrics`. Issue 6.
 *
 * Every component records the same standard instruments (docs/METRICS.md lists them with their Prometheus names):
 *
 *   tailrace_envelopes_received_total{component,direction,...}      envelopes taken in
 *   tailrace_envelopes_sent_total{component,direction,...}          envelopes handed on
 *   tailrace_envelopes_dropped_total{component,direction,reason}    envelopes lost, and why
 *   tailrace_tails_open{component,kind}                             websocket tails and firehose consumers
 *   tailrace_nats_reconnects_total{component}                       NATS reconnects
 *   tailrace_consumer_lag_messages{component,consumer}              JetStream messages not yet delivered to us
 *   tailrace_envelope_latency_seconds{component,stage}              envelope timestamp → handed on (histogram)
 *   tailrace_request_duration_seconds{component,route}              HTTP requests served (histogram)
 *   tailrace_drain_{sent,errors,retries,lost}_total, tailrace_drain_lag_messages   per drain (drainer)
 *
 * Why a provider per instance rather than the global one: tests and `tailrace up` run several components in one
 * process, and each must export only its own figures.
 */
import type { Attributes, Counter, Histogram, Meter, ObservableResult, UpDownCounter } from "@opentelemetry/api";
import { PrometheusExporter, PrometheusSerializer } from "@opentelemetry/exporter-prometheus";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import type { NatsConnection } from "./nats.js";
import { MonotonicSum } from "./telemetry_sum.js";

/** Histogram buckets for durations, in seconds: 0.5 ms to 1 min, roughly ×2.5 apart. */
export const SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export type Direction = "ingress" | "egress";
export type Labels = Record<string, string>;

/** The OpenTelemetry instrument names; the Prometheus names replace `.` with `_` and add `_total` to counters. */
export const INSTRUMENTS = {
  received: "tailrace.envelopes.received",
  sent: "tailrace.envelopes.sent",
  dropped: "tailrace.envelopes.dropped",
  tailsOpen: "tailrace.tails.open",
  natsReconnects: "tailrace.nats.reconnects",
  consumerLag: "tailrace.consumer.lag.messages",
  latency: "tailrace.envelope.latency.seconds",
  requestDuration: "tailrace.request.duration.seconds",
  drainSent: "tailrace.drain.sent",
  drainErrors: "tailrace.drain.errors",
  drainRetries: "tailrace.drain.retries",
  drainLost: "tailrace.drain.lost",
  drainLag: "tailrace.drain.lag.messages",
  drainerDrains: "tailrace.drainer.drains",
  drainerDrainsActive: "tailrace.drainer.drains.active",
  drainerDrainsUnserved: "tailrace.drainer.drains.unserved",
  drainerCatchups: "tailrace.drainer.catchups",
} as const;

/** A counter bound to one label set: bind once, `add` on the hot path. */
export interface Count {
  add(n: number): void;
}

/** An up-down counter bound to one label set. */
export interface Level {
  inc(): void;
  dec(): void;
}

/** A seconds histogram bound to one label set. */
export interface Timing {
  record(seconds: number): void;
  /** Records the time since `ns`, an envelope timestamp (ns since the epoch); negative ages (clock skew) count as 0. */
  sinceNs(ns: bigint): void;
}

/** What the drainer knows of each drain; its DrainStats has this shape. */
export interface DrainSample {
  id: string;
  tenant: string;
  source_id: string;
  active: boolean;
  sent: number;
  errors: number;
  retries: number;
  lost: number;
  lag: number;
  /** The drain cannot be set up on NATS (its buffer or consumer), for longer than a hiccup lasts. */
  unserved?: boolean;
  /** Catch-ups behind the feed so far: on a consumer of the drain's own, and on a replay shared with other drains. */
  catchups?: number;
  replays?: number;
}

export type Observation = readonly [value: number, labels: Labels];

export class Telemetry {
  readonly meter: Meter;
  private readonly provider: MeterProvider;
  private readonly exporter: PrometheusExporter;
  private readonly serializer: PrometheusSerializer;
  private readonly counters = new Map<string, Counter>();
  private readonly updowns = new Map<string, UpDownCounter>();
  private readonly histograms = new Map<string, Histogram>();
  private readonly bound = new Map<string, Count | Level | Timing>();
  private readonly observedNames = new Set<string>();
  private readonly lagReaders: Array<[string, () => number | undefined]> = [];
  private readonly stops: Array<() => void> = [];

  constructor(readonly component: string) {
    // target_info and otel_scope_* carry nothing a scrape config does not already know; `component` is on each series.
    this.exporter = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true, withoutTargetInfo: true });
    this.serializer = new PrometheusSerializer(undefined, false, undefined, true, true);
    this.provider = new MeterProvider({ readers: [this.exporter] });
    this.meter = this.provider.getMeter("tailrace");
    this.meter
      .createObservableGauge(INSTRUMENTS.consumerLag, { description: "JetStream messages stored and not yet delivered to this consumer." })
      .addCallback((r) => {
        for (const [consumer, read] of this.lagReaders) {
          const v = read();
          if (v !== undefined && Number.isFinite(v)) r.observe(v, { component: this.component, consumer });
        }
      });
  }

  /** Envelopes taken in, e.g. `received("ingress", { consumer: "tail" })`. */
  received(direction: Direction, extra: Labels = {}): Count {
    return this.count(INSTRUMENTS.received, "Envelopes taken in, by component and direction.", { direction, ...extra });
  }

  /** Envelopes handed on to the next hop or a consumer. */
  sent(direction: Direction, extra: Labels = {}): Count {
    return this.count(INSTRUMENTS.sent, "Envelopes handed on, by component and direction.", { direction, ...extra });
  }

  /** Envelopes lost, with the reason (e.g. `slow_consumer`, `malformed`, `cardinality`). */
  dropped(direction: Direction, reason: string, extra: Labels = {}): Count {
    return this.count(INSTRUMENTS.dropped, "Envelopes dropped, by component, direction and reason.", { direction, reason, ...extra });
  }

  /** Websocket tails (`tail`) and firehose consumers (`firehose`) open now. */
  tails(kind: "tail" | "firehose"): Level {
    const labels = this.labels({ kind });
    const key = `${INSTRUMENTS.tailsOpen}|${JSON.stringify(labels)}`;
    let h = this.bound.get(key) as Level | undefined;
    if (!h) {
      let c = this.updowns.get(INSTRUMENTS.tailsOpen);
      if (!c) {
        this.claim(INSTRUMENTS.tailsOpen, false);
        c = this.meter.createUpDownCounter(INSTRUMENTS.tailsOpen, { description: "Websocket tails and firehose consumers open now." });
        this.updowns.set(INSTRUMENTS.tailsOpen, c);
      }
      const counter = c;
      counter.add(0, labels);
      h = { inc: () => counter.add(1, labels), dec: () => counter.add(-1, labels) };
      this.bound.set(key, h);
    }
    return h;
  }

  /** Seconds from an envelope's timestamp to the moment `stage` handed it on (e.g. `tail`, `publish`, `drain`). */
  latency(stage: string): Timing {
    return this.timing(INSTRUMENTS.latency, "Seconds from an envelope's timestamp until this component handed it on.", { stage });
  }

  /** Seconds spent serving one HTTP request of `route`. */
  requestDuration(route: string): Timing {
    return this.timing(INSTRUMENTS.requestDuration, "Seconds spent serving HTTP requests, by route.", { route });
  }

  /** Reports `read()` as the consumer lag of `consumer` at each scrape (undefined: not reported). */
  lag(consumer: string, read: () => number | undefined): void {
    this.lagReaders.push([consumer, read]);
  }

  /** Counts the reconnects of `nc` until it closes. */
  watchNats(nc: NatsConnection): void {
    const reconnects = this.count(INSTRUMENTS.natsReconnects, "Times the NATS connection was re-established.", {});
    let stopped = false;
    this.stops.push(() => {
      stopped = true;
    });
    // The iterator ends when the connection closes; after shutdown() it only stops counting.
    void (async () => {
      for await (const s of nc.status()) if (s.type === "reconnect" && !stopped) reconnects.add(1);
    })().catch(() => undefined);
  }

  /**
   * A counter read from existing totals at each scrape: `read` returns each label set's total so far. Totals of label
   * sets that disappear (a drain removed, a tail closed) are kept, so each series never goes backwards. `component` is
   * added unless `withComponent` is false.
   */
  observeCounter(name: string, help: string, read: () => Iterable<Observation>, withComponent = true): void {
    this.claim(name, true);
    const sum = new MonotonicSum();
    this.meter.createObservableCounter(name, { description: help }).addCallback((r: ObservableResult) => {
      for (const [v, labels] of sum.update(read())) r.observe(v, withComponent ? this.labels(labels) : labels);
    });
  }

  /** A gauge read at each scrape. */
  observeGauge(name: string, help: string, read: () => Iterable<Observation>, withComponent = true): void {
    this.claim(name, true);
    this.meter.createObservableGauge(name, { description: help }).addCallback((r: ObservableResult) => {
      for (const [v, labels] of read()) r.observe(v, withComponent ? this.labels(labels) : labels);
    });
  }

  /**
   * The drainer's figures: per drain sent, errors, retries, lost and lag (labels drain, tenant, source_id), drains known
   * and active, and the standard envelopes sent/dropped and consumer lag summed over the drains this drainer runs.
   */
  observeDrains(read: () => DrainSample[]): void {
    const m = this.meter;
    const counters = {
      sent: m.createObservableCounter(INSTRUMENTS.drainSent, { description: "Syslog messages delivered to the drain." }),
      errors: m.createObservableCounter(INSTRUMENTS.drainErrors, {
        description: "Failed connects, broken connections and failed requests.",
      }),
      retries: m.createObservableCounter(INSTRUMENTS.drainRetries, { description: "Reconnects and re-sent requests." }),
      lost: m.createObservableCounter(INSTRUMENTS.drainLost, { description: "Envelopes given up: past retention or refused for good." }),
    };
    const sums = { sent: new MonotonicSum(), errors: new MonotonicSum(), retries: new MonotonicSum(), lost: new MonotonicSum() };
    const catchups = m.createObservableCounter(INSTRUMENTS.drainerCatchups, {
      description: "Drains that caught up behind the drains' feed, on a consumer of their own (own) or on a shared replay (replay).",
    });
    const behind = { own: new MonotonicSum(), replay: new MonotonicSum() };
    const lag = m.createObservableGauge(INSTRUMENTS.drainLag, {
      description: "NATS messages waiting behind the last one delivered to the drain.",
    });
    const known = m.createObservableGauge(INSTRUMENTS.drainerDrains, { description: "Drains this drainer knows of." });
    const active = m.createObservableGauge(INSTRUMENTS.drainerDrainsActive, {
      description: "Drains this drainer holds the lease of and delivers.",
    });
    const unserved = m.createObservableGauge(INSTRUMENTS.drainerDrainsUnserved, {
      description: "Drains this drainer holds but cannot set up on NATS (each has told its tenant in an LGR line).",
    });
    const sent = m.createObservableCounter(INSTRUMENTS.sent, { description: "Envelopes handed on, by component and direction." });
    const dropped = m.createObservableCounter(INSTRUMENTS.dropped, {
      description: "Envelopes dropped, by component, direction and reason.",
    });
    for (const name of [INSTRUMENTS.sent, INSTRUMENTS.dropped, INSTRUMENTS.drainSent, INSTRUMENTS.drainLag]) this.claim(name, true);
    const lagged = new Map<string, Labels>();
    // One read of the drains per scrape, for every instrument (OpenTelemetry's batch observable callback).
    m.addBatchObservableCallback(
      (r) => {
        const drains = read();
        const labels = (s: DrainSample): Labels => ({ drain: s.id, tenant: s.tenant, source_id: s.source_id });
        for (const field of ["sent", "errors", "retries", "lost"] as const) {
          for (const [v, l] of sums[field].update(drains.map((s): Observation => [s[field], labels(s)]))) r.observe(counters[field], v, l);
        }
        // The SDK keeps reporting a series it once saw, with its last value: a drain that is gone or handed to another
        // drainer reports a lag of 0 here rather than a stale figure.
        const now = new Map(drains.map((s) => [s.id, s]));
        for (const [id, l] of lagged) if (!now.has(id)) r.observe(lag, 0, l);
        lagged.clear();
        for (const s of drains) {
          lagged.set(s.id, labels(s));
          r.observe(lag, s.active ? s.lag : 0, labels(s));
        }
        r.observe(known, drains.length);
        r.observe(active, drains.filter((s) => s.active).length);
        r.observe(unserved, drains.filter((s) => s.unserved).length);
        behind.own.update(drains.map((s): Observation => [s.catchups ?? 0, { drain: s.id }]));
        behind.replay.update(drains.map((s): Observation => [s.replays ?? 0, { drain: s.id }]));
        r.observe(catchups, behind.own.total, { reader: "own" });
        r.observe(catchups, behind.replay.total, { reader: "replay" });
        r.observe(sent, sums.sent.total, this.labels({ direction: "egress" }));
        r.observe(dropped, sums.lost.total, this.labels({ direction: "egress", reason: "drain_lost" }));
      },
      [...Object.values(counters), lag, known, active, unserved, catchups, sent, dropped],
    );
    this.lag("drains", () => read().reduce((n, s) => n + (s.active ? s.lag : 0), 0));
  }

  /** The Prometheus text exposition (0.0.4) of everything recorded so far. */
  async text(): Promise<string> {
    const { resourceMetrics } = await this.exporter.collect();
    const out = this.serializer.serialize(resourceMetrics);
    return out.endsWith("\n") ? out : `${out}\n`;
  }

  async shutdown(): Promise<void> {
    for (const stop of this.stops.splice(0)) stop();
    await this.provider.shutdown().catch(() => undefined);
  }

  private labels(extra: Labels): Attributes {
    return { component: this.component, ...extra };
  }

  /** One name is either recorded (sync) or observed in a process, never both: the SDK would export two series sets. */
  private claim(name: string, observed: boolean): void {
    if (observed ? this.counters.has(name) || this.updowns.has(name) || this.observedNames.has(name) : this.observedNames.has(name)) {
      throw new Error(`telemetry: ${name} is already registered in ${this.component} as another kind`);
    }
    if (observed) this.observedNames.add(name);
  }

  private count(name: string, help: string, extra: Labels): Count {
    const labels = this.labels(extra);
    const key = `${name}|${JSON.stringify(labels)}`;
    let h = this.bound.get(key) as Count | undefined;
    if (!h) {
      let c = this.counters.get(name);
      if (!c) {
        this.claim(name, false);
        c = this.meter.createCounter(name, { description: help });
        this.counters.set(name, c);
      }
      const counter = c;
      // Zero from the start, so a rate over a series that has not moved yet reads 0, not nothing.
      counter.add(0, labels);
      h = { add: (n: number) => counter.add(n, labels) };
      this.bound.set(key, h);
    }
    return h;
  }

  private timing(name: string, help: string, extra: Labels): Timing {
    const labels = this.labels(extra);
    const key = `${name}|${JSON.stringify(labels)}`;
    let h = this.bound.get(key) as Timing | undefined;
    if (!h) {
      let hist = this.histograms.get(name);
      if (!hist) {
        this.claim(name, false);
        hist = this.meter.createHistogram(name, { description: help, advice: { explicitBucketBoundaries: SECONDS_BUCKETS } });
        this.histograms.set(name, hist);
      }
      const histogram = hist;
      h = {
        record: (s: number) => histogram.record(s, labels),
        sinceNs: (ns: bigint) => histogram.record(Math.max(0, Date.now() / 1000 - Number(ns / 1_000_000n) / 1000), labels),
      };
      this.bound.set(key, h);
    }
    return h;
  }
}
