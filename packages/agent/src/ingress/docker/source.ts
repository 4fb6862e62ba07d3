import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "@tailrace/runtime";
import type { NatsPublisher } from "../../egress/nats.js";
import type { AgentCounters } from "../../telemetry/counters.js";
import type { CheckpointStore } from "../file/checkpoint.js";
import { FileTailer } from "../file/tailer.js";
import { InstanceSink } from "../instance.js";
import { dockerCgroupDirs, readCgroupV2 } from "../metrics/cgroup.js";
import type { MetricsCollector, MetricsTarget } from "../metrics/collector.js";
import type { Usage } from "../metrics/usage.js";
import { DockerJsonDecoder } from "./decoder.js";
import { type LabelDefaults, placeContainer } from "./labels.js";

export interface DockerSourceOptions extends LabelDefaults {
  dir: string;
  scanMs: number;
  pollMs: number;
  chunkBytes: number;
  cgroupRoot: string | undefined;
}

interface Container {
  tailer: FileTailer;
  metrics: MetricsTarget;
}

const ID = /^[0-9a-f]{12,128}$/;

/**
 * Docker's json-file logs: `<dir>/<id>/<id>-json.log`, placed by the labels in `<dir>/<id>/config.v2.json`. The
 * directory is scanned every `scanMs` for containers that came; those that went finish on their own once their
 * file is removed and read to its end.
 */
export class DockerSource {
  private readonly containers = new Map<string, Container>();
  /** Containers looked at and skipped (unlabeled, invalid), so each is logged once. */
  private readonly skipped = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;

  constructor(
    private readonly o: DockerSourceOptions,
    private readonly publisher: NatsPublisher,
    private readonly checkpoints: CheckpointStore,
    private readonly collector: MetricsCollector,
    private readonly counters: AgentCounters,
    private readonly logger: Logger,
  ) {}

  get files(): FileTailer[] {
    return [...this.containers.values()].map((c) => c.tailer);
  }

  async start(): Promise<void> {
    await this.scan();
    // Checkpoints of containers removed while the agent was down.
    for (const key of await this.checkpoints.keys("docker-")) {
      if (!this.containers.has(key.slice(7)) && !this.skipped.has(key.slice(7))) await this.checkpoints.delete(key);
    }
    this.timer = setInterval(() => {
      this.scanning ??= this.scan()
        .catch((err) => this.logger.warn({ err: (err as Error).message, dir: this.o.dir }, "docker scan failed"))
        .finally(() => (this.scanning = undefined));
    }, this.o.scanMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.scanning;
    await Promise.all([...this.containers.values()].map((c) => c.tailer.stop()));
  }

  private async scan(): Promise<void> {
    for (const [id, c] of this.containers) {
      if (c.tailer.done) {
        this.containers.delete(id);
        this.collector.remove(c.metrics);
      }
    }
    const ids = (await readdir(this.o.dir)).filter((n) => ID.test(n));
    for (const id of ids) {
      if (this.containers.has(id) || this.skipped.has(id)) continue;
      await this.add(id);
    }
  }

  private async add(id: string): Promise<void> {
    const dir = join(this.o.dir, id);
    let config: { Name?: unknown; Config?: { Labels?: unknown } };
    try {
      config = JSON.parse(await readFile(join(dir, "config.v2.json"), "utf8"));
    } catch {
      // Not written yet (a container being created), or removed: look again on the next scan.
      return;
    }
    const labels = (config.Config?.Labels ?? {}) as Record<string, string>;
    const placed = placeContainer(id, typeof config.Name === "string" ? config.Name : id, labels, this.o);
    if (!placed.ok) {
      this.skipped.add(id);
      this.logger[placed.reason === "unmapped" ? "debug" : "warn"]({ container: id, why: placed.detail }, "skipping container");
      return;
    }
    const info = placed.info;
    const sink = new InstanceSink(info, this.publisher.channel(info.tenant, info.app), this.counters, "docker");
    const path = join(dir, `${id}-json.log`);
    const tailer = new FileTailer({
      key: `docker-${id}`,
      path,
      decoder: new DockerJsonDecoder(sink, this.counters),
      checkpoints: this.checkpoints,
      pollMs: this.o.pollMs,
      chunkBytes: this.o.chunkBytes,
      logger: this.logger.child({ container: id.slice(0, 12) }),
      onOversize: () => this.counters.drop("oversize"),
    });
    const metrics: MetricsTarget = { sink, read: () => this.usage(id, dir) };
    this.containers.set(id, { tailer, metrics });
    this.collector.add(metrics);
    tailer.start();
    this.logger.info({ container: id.slice(0, 12), tenant: info.tenant, app: info.app, instance: info.instanceId }, "following container");
  }

  private async usage(id: string, dir: string): Promise<Usage | undefined> {
    let u: Usage | undefined;
    if (this.o.cgroupRoot) {
      for (const cg of dockerCgroupDirs(this.o.cgroupRoot, id)) {
        u = await readCgroupV2(cg);
        if (u) break;
      }
    }
    // The disk a container's logs take on the host; its writable layer needs the Docker API, which we do not use.
    let disk = 0;
    try {
      for (const n of await readdir(dir)) if (n.includes("-json.log")) disk += (await stat(join(dir, n))).size;
    } catch {
      return undefined;
    }
    return { ...u, disk };
  }
}
