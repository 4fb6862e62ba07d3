import { totalmem } from "node:os";
import { type Envelope, nowNs } from "@tailrace/envelope";
import type { Logger } from "@tailrace/runtime";
import type { InstanceSink } from "../instance.js";
import type { Usage } from "./usage.js";

/** Something to measure: an app instance and how to read its resources. */
export interface MetricsTarget {
  sink: InstanceSink;
  read(): Promise<Usage | undefined>;
}

interface State {
  target: MetricsTarget;
  at: number;
  cpuUsec: number | undefined;
  logBytes: number;
}

/**
 * Every interval, one gauge envelope per instance with Cloud Foundry's container metric names: `cpu` (percent of one
 * core over the interval), `memory`, `memory_quota`, `disk`, `disk_quota` (bytes), `log_rate` (bytes/s over the
 * interval) and `log_rate_limit` (bytes/s, -1 when unlimited, as in Cloud Foundry).
 */
export class MetricsCollector {
  private readonly targets = new Map<MetricsTarget, State>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** Gauge envelopes emitted since start. */
  emitted = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  /** Starts measuring `t`; its first gauge comes one interval later, with a CPU figure over that interval. */
  add(t: MetricsTarget): void {
    const state: State = { target: t, at: performance.now(), cpuUsec: undefined, logBytes: t.sink.logBytes };
    this.targets.set(t, state);
    void t.read().then(
      (u) => (state.cpuUsec ??= u?.cpuUsec),
      () => undefined,
    );
  }

  remove(t: MetricsTarget): void {
    this.targets.delete(t);
  }

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.tick().finally(() => (this.running = undefined));
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  private async tick(): Promise<void> {
    await Promise.all(
      [...this.targets.values()].map(async (s) => {
        let u: Usage | undefined;
        try {
          u = await s.target.read();
        } catch (err) {
          this.logger.debug({ err: (err as Error).message }, "could not read instance metrics");
        }
        // Gone since (container removed, process exited): no gauge.
        if (!u || !this.targets.has(s.target)) return;
        const now = performance.now();
        const secs = Math.max((now - s.at) / 1000, 0.001);
        const cpu = u.cpuUsec !== undefined && s.cpuUsec !== undefined ? Math.max(0, ((u.cpuUsec - s.cpuUsec) / (secs * 1e6)) * 100) : 0;
        const sink = s.target.sink;
        const logRate = (sink.logBytes - s.logBytes) / secs;
        s.at = now;
        s.cpuUsec = u.cpuUsec;
        s.logBytes = sink.logBytes;
        const limit = sink.info.logRateLimit > 0 ? sink.info.logRateLimit : -1;
        const e: Envelope = {
          timestamp: nowNs(),
          sourceId: sink.info.app,
          instanceId: sink.info.instanceId,
          tags: { ...sink.tags },
          gauge: {
            metrics: {
              cpu: { unit: "percentage", value: round(cpu) },
              memory: { unit: "bytes", value: u.memory ?? 0 },
              memory_quota: { unit: "bytes", value: u.memoryQuota ?? totalmem() },
              disk: { unit: "bytes", value: u.disk ?? 0 },
              disk_quota: { unit: "bytes", value: u.diskQuota ?? 0 },
              log_rate: { unit: "B/s", value: round(logRate) },
              log_rate_limit: { unit: "B/s", value: limit },
            },
          },
        };
        sink.write(e);
        this.emitted++;
      }),
    );
  }
}

const round = (v: number) => Math.round(v * 100) / 100;
