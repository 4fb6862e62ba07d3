import { readdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { isValidName } from "@tailrace/envelope";
import type { Logger } from "@tailrace/runtime";
import type { NatsPublisher } from "../../egress/nats.js";
import type { AgentCounters } from "../../telemetry/counters.js";
import type { CheckpointStore } from "../file/checkpoint.js";
import { FileTailer } from "../file/tailer.js";
import { type InstanceInfo, InstanceSink } from "../instance.js";
import type { MetricsCollector, MetricsTarget } from "../metrics/collector.js";
import { CriDecoder } from "./decoder.js";
import { CriContainerMetrics } from "./metrics.js";

export interface CriSourceOptions {
  dir: string;
  scanMs: number;
  pollMs: number;
  chunkBytes: number;
  logRateLimit: number;
  /** cgroup v2 root for container metrics; none without it. */
  cgroupRoot: string | undefined;
}

/** `<namespace>_<pod>_<uid>`: namespaces and uids hold no `_`, pod names may. */
const POD_DIR = /^([a-z0-9-]+)_(.+)_([0-9a-f-]+)$/;
const LOG = /^\d+\.log$/;

/**
 * The mapping documented in docs/AGENT.md: namespace → tenant, container → app, pod name → instance, process type
 * `web`. Names outside the alphabet are refused (the pod name is only an instance id, which may hold `.`).
 */
export function placeCriLog(podDir: string, container: string, logRateLimit: number): InstanceInfo | undefined {
  const m = POD_DIR.exec(podDir);
  if (!m || !isValidName(m[1] as string) || !isValidName(container)) return undefined;
  return { tenant: m[1] as string, app: container, processType: "web", instanceId: (m[2] as string).slice(0, 256), logRateLimit };
}

interface Followed {
  tailer: FileTailer;
  metrics: MetricsTarget | undefined;
}

/**
 * CRI logs under the kubelet's pod log directory (`/var/log/pods`), scanned every `scanMs` for new files. With a
 * cgroup root, each container also gets metrics: its id comes from the kubelet's symlinks in the sibling
 * `containers` directory (`/var/log/containers`), its cgroup from the pod uid and that id (issue 14).
 */
export class CriSource {
  private readonly files = new Map<string, Followed>();
  private readonly skipped = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;

  constructor(
    private readonly o: CriSourceOptions,
    private readonly publisher: NatsPublisher,
    private readonly checkpoints: CheckpointStore,
    private readonly collector: MetricsCollector,
    private readonly counters: AgentCounters,
    private readonly logger: Logger,
  ) {}

  get tailers(): FileTailer[] {
    return [...this.files.values()].map((f) => f.tailer);
  }

  async start(): Promise<void> {
    await this.scan();
    this.timer = setInterval(() => {
      this.scanning ??= this.scan()
        .catch((err) => this.logger.warn({ err: (err as Error).message, dir: this.o.dir }, "CRI scan failed"))
        .finally(() => (this.scanning = undefined));
    }, this.o.scanMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.scanning;
    await Promise.all([...this.files.values()].map((f) => f.tailer.stop()));
  }

  private async scan(): Promise<void> {
    for (const [key, f] of this.files) {
      if (!f.tailer.done) continue;
      this.files.delete(key);
      if (f.metrics) this.collector.remove(f.metrics);
    }
    for (const pod of await readdir(this.o.dir).catch(() => [] as string[])) {
      for (const container of await readdir(join(this.o.dir, pod)).catch(() => [] as string[])) {
        for (const log of await readdir(join(this.o.dir, pod, container)).catch(() => [] as string[])) {
          if (LOG.test(log)) this.add(pod, container, log);
        }
      }
    }
  }

  private add(pod: string, container: string, log: string): void {
    const path = join(this.o.dir, pod, container, log);
    if (this.files.has(path) || this.skipped.has(path)) return;
    const info = placeCriLog(pod, container, this.o.logRateLimit);
    if (!info) {
      this.skipped.add(path);
      this.logger.warn({ path }, "skipping a CRI log whose namespace or container is not a valid name");
      return;
    }
    const sink = new InstanceSink(info, this.publisher.channel(info.tenant, info.app), this.counters, "cri");
    // The pod uid makes the key unique; the checkpoint file name must be a safe name.
    const key = `cri-${pod}-${container}-${log}`.replace(/[^A-Za-z0-9_.-]/g, "_");
    const tailer = new FileTailer({
      key,
      path,
      decoder: new CriDecoder(sink, this.counters),
      checkpoints: this.checkpoints,
      pollMs: this.o.pollMs,
      chunkBytes: this.o.chunkBytes,
      logger: this.logger.child({ pod, container }),
      onOversize: () => this.counters.drop("oversize"),
    });
    let metrics: MetricsTarget | undefined;
    const m = POD_DIR.exec(pod);
    if (this.o.cgroupRoot && m) {
      const place = { dir: this.o.dir, podDir: pod, namespace: m[1] as string, pod: m[2] as string, uid: m[3] as string, container, log };
      const reader = new CriContainerMetrics(place, join(dirname(this.o.dir), "containers"), this.o.cgroupRoot);
      metrics = { sink, read: () => reader.read() };
      this.collector.add(metrics);
    }
    this.files.set(path, { tailer, metrics });
    tailer.start();
    this.logger.info({ path, tenant: info.tenant, app: info.app }, "following CRI log");
  }
}
