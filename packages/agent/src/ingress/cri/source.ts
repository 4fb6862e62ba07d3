import { readdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { isValidName } from "@tailrace/envelope";
import type { Logger } from "@tailrace/runtime";
import type { NatsPublisher } from "../../egress/nats.js";
import type { AgentCounters } from "../../telemetry/counters.js";
import { LABELS } from "../docker/labels.js";
import type { CheckpointStore } from "../file/checkpoint.js";
import { FileTailer } from "../file/tailer.js";
import { type InstanceInfo, InstanceSink } from "../instance.js";
import type { MetricsCollector, MetricsTarget } from "../metrics/collector.js";
import { CriDecoder } from "./decoder.js";
import type { KubernetesMetadata, Labels } from "./kubernetes.js";
import { CriContainerMetrics } from "./metrics.js";

export interface CriSourceOptions {
  dir: string;
  scanMs: number;
  pollMs: number;
  chunkBytes: number;
  logRateLimit: number;
  /** cgroup v2 root for container metrics; none without it. */
  cgroupRoot: string | undefined;
  /** Namespaces' and pods' labels, which override the path's mapping (see {@link placeCriLog}); none without it. */
  kubernetes: KubernetesMetadata | undefined;
}

/** `<namespace>_<pod>_<uid>`: namespaces and uids hold no `_`, pod names may. */
const POD_DIR = /^([a-z0-9-]+)_(.+)_([0-9a-f-]+)$/;
const LOG = /^\d+\.log$/;
/** How long the Kubernetes API is left alone after it failed to answer. */
const API_RETRY_MS = 1000;

/** What the Kubernetes API says of a CRI log's namespace and pod (TAILRACE_KUBERNETES_API). */
export interface PodLabels {
  namespace: Labels;
  pod: Labels;
}

/**
 * The mapping documented in docs/AGENT.md and docs/KUBERNETES.md: namespace → tenant, container → app, pod name →
 * instance, process type `web`. With the pod's metadata, the namespace's label `tailrace.tenant` names the tenant
 * (a namespace's labels are the cluster operator's, so no pod can write into another tenant; a pod's own
 * `tailrace.tenant` is ignored), and the pod's labels `tailrace.app`, `tailrace.process`, `tailrace.instance` and
 * `tailrace.log_rate_limit` override the rest. Names outside the alphabet are refused (the pod name is only an
 * instance id, which may hold `.`).
 */
export function placeCriLog(podDir: string, container: string, logRateLimit: number, meta?: PodLabels): InstanceInfo | undefined {
  const m = POD_DIR.exec(podDir);
  if (!m) return undefined;
  const tenant = meta?.namespace[LABELS.tenant] ?? (m[1] as string);
  const app = meta?.pod[LABELS.app] ?? container;
  const processType = meta?.pod[LABELS.process] ?? "web";
  const instanceId = (meta?.pod[LABELS.instance] ?? (m[2] as string)).slice(0, 256);
  if (!isValidName(tenant) || !isValidName(app) || !isValidName(processType)) return undefined;
  const rawLimit = meta?.pod[LABELS.logRateLimit];
  if (rawLimit !== undefined && !/^\d{1,15}$/.test(rawLimit)) return undefined;
  return { tenant, app, processType, instanceId, logRateLimit: rawLimit === undefined ? logRateLimit : Number(rawLimit) };
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
  /** Pods whose metadata the API server did not give, warned about once each; they are asked for again at each scan. */
  private readonly unanswered = new Set<string>();
  private apiRetryAt = 0;
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
          if (LOG.test(log)) await this.add(pod, container, log);
        }
      }
    }
  }

  private async add(pod: string, container: string, log: string): Promise<void> {
    const path = join(this.o.dir, pod, container, log);
    if (this.files.has(path) || this.skipped.has(path)) return;
    const m = POD_DIR.exec(pod);
    let meta: PodLabels | undefined;
    if (m && this.o.kubernetes) {
      // After a failure, the next question waits a moment: with the API server down, a scan would otherwise wait out
      // one timeout per new pod.
      if (performance.now() < this.apiRetryAt) return;
      try {
        meta = await this.metadata(this.o.kubernetes, m[1] as string, m[2] as string, m[3] as string);
      } catch (err) {
        // Placing it by the path alone could put it in another tenant than its namespace's label names: wait.
        if (!this.unanswered.has(pod))
          this.logger.warn({ pod, err: (err as Error).message }, "no pod metadata from the Kubernetes API yet; will ask again");
        this.unanswered.add(pod);
        this.apiRetryAt = performance.now() + API_RETRY_MS;
        return;
      }
      this.unanswered.delete(pod);
    }
    const info = placeCriLog(pod, container, this.o.logRateLimit, meta);
    if (!info) {
      this.skipped.add(path);
      this.logger.warn({ path }, "skipping a CRI log whose tenant, app or process is not a valid name (from its path or labels)");
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

  /** The namespace's and pod's labels; a pod already gone from the API server keeps the path's mapping. */
  private async metadata(k: KubernetesMetadata, namespace: string, pod: string, uid: string): Promise<PodLabels> {
    const [ns, p] = await Promise.all([k.namespace(namespace), k.pod(namespace, pod, uid)]);
    return { namespace: ns === "gone" ? {} : ns.labels, pod: p === "gone" ? {} : p.labels };
  }
}
