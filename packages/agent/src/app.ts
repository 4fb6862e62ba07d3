/**
 * The agent's whole data path on one screen:
 *
 *   docker json-file ─┐ (FileTailer: read chunk → lines → envelopes → wait for acks → checkpoint)
 *   CRI logs ─────────┤
 *   supervised procs ─┼─► InstanceSink (rate limit, 64 KiB split) ─► AppChannel ─► FairBuffer ─► batches ─► JetStream
 *   syslog UDP/TCP ───┤                                                                 tr.data.<tenant>.<app>.<kind>
 *   HTTP ingress ─────┤ (/v1/envelopes; OTLP /v1/logs, /v1/metrics → ingress/otlp)
 *   metrics (cgroup, /proc) every interval ─┘
 *
 *   AgentHttp: /healthz /readyz /metrics (AgentCounters + publisher stats)
 */
import { existsSync } from "node:fs";
import { hostname } from "node:os";
import { jetstream } from "@nats-io/jetstream";
import { hs256Verifier } from "@tailrace/auth";
import { connectNats, INSTRUMENTS, type Logger, type NatsConnection, natsSecurity, serverTls, Telemetry } from "@tailrace/runtime";
import { type AgentConfig, parseHostPort } from "./config.js";
import { AppClaims } from "./egress/claims.js";
import { type AppChannel, NatsPublisher, noPublisherStats } from "./egress/nats.js";
import { KubernetesMetadata } from "./ingress/cri/kubernetes.js";
import { CriSource } from "./ingress/cri/source.js";
import { DockerSource } from "./ingress/docker/source.js";
import { CheckpointStore } from "./ingress/file/checkpoint.js";
import { HttpIngress } from "./ingress/http/server.js";
import { InstanceSink } from "./ingress/instance.js";
import { findCgroupRoot } from "./ingress/metrics/cgroup.js";
import { MetricsCollector } from "./ingress/metrics/collector.js";
import { readProcessTree } from "./ingress/metrics/proc.js";
import { type ProcessHandle, type SupervisedProcess, superviseProcess } from "./ingress/process.js";
import { SyslogHandler } from "./ingress/syslog/handler.js";
import { SyslogListener } from "./ingress/syslog/listener.js";
import { AgentCounters } from "./telemetry/counters.js";
import { AgentHttp } from "./telemetry/http.js";
import { type AgentStats, prometheusText, snapshot } from "./telemetry/stats.js";

export interface AgentPorts {
  http: number;
  syslog: number;
  ingress: number;
}

export class Agent {
  private nc: NatsConnection | undefined;
  private publisher: NatsPublisher | undefined;
  private collector: MetricsCollector | undefined;
  private cgroupRoot: string | undefined;
  private docker: DockerSource | undefined;
  private cri: CriSource | undefined;
  private syslog: SyslogListener | undefined;
  private ingress: HttpIngress | undefined;
  private http: AgentHttp | undefined;
  /** The standard pipeline instruments every component exports (see runtime/telemetry.ts), read from stats(). */
  private readonly telemetry = new Telemetry("agent");
  private sourcesStarted = false;
  readonly counters = new AgentCounters();
  /** Ports actually bound (useful with port 0); 0 when that listener is off. */
  readonly ports: AgentPorts = { http: 0, syslog: 0, ingress: 0 };

  constructor(
    private readonly config: AgentConfig,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    const c = this.config;
    const id = c.TAILRACE_AGENT_ID || `${hostname()}-${process.pid}`;
    this.nc = await connectNats({
      url: c.NATS_URL,
      name: `tailrace-agent-${id}`,
      logger: this.logger,
      security: natsSecurity(c, "agent"),
      // The publisher makes a JetStream request per batch (bench/e2e_tail.mjs, issue 13).
      asyncTraces: false,
    });
    this.telemetry.watchNats(this.nc);
    this.observe();
    this.publisher = new NatsPublisher(jetstream(this.nc), new AppClaims(this.nc), {
      bufferSize: c.TAILRACE_AGENT_BUFFER,
      maxBatch: c.TAILRACE_AGENT_BATCH,
      flushMs: c.TAILRACE_AGENT_FLUSH,
      maxInFlight: c.TAILRACE_AGENT_IN_FLIGHT,
      agentId: `${id}-${Date.now().toString(36)}`,
      logger: this.logger,
      maxPayload: () => this.nc?.info?.max_payload,
      connection: this.nc,
    });
    this.cgroupRoot = c.TAILRACE_CGROUP_ROOT || (await findCgroupRoot());
    this.collector = new MetricsCollector(c.TAILRACE_METRICS_INTERVAL, this.logger);
    this.collector.start();
  }

  /**
   * Starts the host's sources as configured: the agent's HTTP endpoints, Docker json-file and CRI logs (skipped when
   * their directory does not exist), syslog and the local HTTP ingress.
   */
  async startSources(): Promise<void> {
    const c = this.config;
    const publisher = this.need();
    const collector = this.collector as MetricsCollector;
    const tls = serverTls(c.TAILRACE_TLS_CERT, c.TAILRACE_TLS_KEY);
    if (c.TAILRACE_AGENT_HTTP_ADDR) {
      const { host, port } = parseHostPort(c.TAILRACE_AGENT_HTTP_ADDR);
      // The agent's own families (docs/AGENT.md) and the standard instruments every component shares (docs/METRICS.md).
      this.http = new AgentHttp({ checks: () => this.checks() }, async () => prometheusText(this.stats()) + (await this.telemetry.text()));
      this.ports.http = await this.http.listen(host, port);
      this.logger.info({ host, port: this.ports.http }, "agent HTTP (/healthz /readyz /metrics) listening");
    }
    const checkpoints = new CheckpointStore(c.TAILRACE_STATE_DIR, c.TAILRACE_CHECKPOINT_FSYNC);
    const files = { scanMs: c.TAILRACE_SCAN_INTERVAL, pollMs: c.TAILRACE_FILE_POLL, chunkBytes: c.TAILRACE_READ_CHUNK };
    if (this.usableDir("Docker", c.TAILRACE_DOCKER_DIR)) {
      this.docker = new DockerSource(
        {
          ...files,
          dir: c.TAILRACE_DOCKER_DIR,
          tenant: c.TAILRACE_DEFAULT_TENANT,
          logRateLimit: c.TAILRACE_LOG_RATE_LIMIT,
          cgroupRoot: this.cgroupRoot,
        },
        publisher,
        checkpoints,
        collector,
        this.counters,
        this.logger.child({ source: "docker" }),
      );
      await this.docker.start();
    }
    if (this.usableDir("CRI", c.TAILRACE_CRI_DIR)) {
      this.cri = new CriSource(
        {
          ...files,
          dir: c.TAILRACE_CRI_DIR,
          logRateLimit: c.TAILRACE_LOG_RATE_LIMIT,
          cgroupRoot: this.cgroupRoot,
          kubernetes: c.TAILRACE_KUBERNETES_API
            ? new KubernetesMetadata(c.TAILRACE_KUBERNETES_API, c.TAILRACE_KUBERNETES_SA_DIR)
            : undefined,
        },
        publisher,
        checkpoints,
        collector,
        this.counters,
        this.logger.child({ source: "cri" }),
      );
      await this.cri.start();
    }
    if (c.TAILRACE_SYSLOG_ADDR) {
      const { host, port } = parseHostPort(c.TAILRACE_SYSLOG_ADDR);
      const handler = new SyslogHandler(publisher, this.counters, this.logger.child({ source: "syslog" }), {
        defaultTenant: c.TAILRACE_SYSLOG_TENANT,
        logRateLimit: c.TAILRACE_LOG_RATE_LIMIT,
      });
      this.syslog = new SyslogListener(handler, this.logger.child({ source: "syslog" }), tls);
      await this.syslog.listen(host, port);
      this.ports.syslog = this.syslog.tcpPort;
    }
    if (c.TAILRACE_INGRESS_ADDR) {
      const verifier = c.TAILRACE_JWT_SECRET ? hs256Verifier({ secret: c.TAILRACE_JWT_SECRET }) : undefined;
      if (verifier || (c.TAILRACE_INGRESS_TENANT && c.TAILRACE_INGRESS_APP)) {
        const { host, port } = parseHostPort(c.TAILRACE_INGRESS_ADDR);
        this.ingress = new HttpIngress(
          {
            verifier,
            tenant: c.TAILRACE_INGRESS_TENANT,
            app: c.TAILRACE_INGRESS_APP,
            maxBytes: c.TAILRACE_INGRESS_MAX_BYTES,
            otlp: {
              maxDecodedBytes: c.TAILRACE_OTLP_MAX_DECODED_BYTES,
              logRateLimit: c.TAILRACE_LOG_RATE_LIMIT,
              maxAttributes: c.TAILRACE_OTLP_MAX_ATTRIBUTES,
              maxValueChars: c.TAILRACE_OTLP_MAX_TAG_VALUE,
              resourceLabels: c.TAILRACE_OTLP_METRIC_RESOURCE_ATTRIBUTES,
            },
            ...(tls ? { tls } : {}),
          },
          publisher,
          this.counters,
          this.logger.child({ source: "http" }),
        );
        this.ports.ingress = await this.ingress.listen(host, port);
        this.logger.info({ host, port: this.ports.ingress }, "HTTP ingress (POST /v1/envelopes, OTLP /v1/logs and /v1/metrics) listening");
      } else {
        this.logger.info("HTTP ingress off: set TAILRACE_JWT_SECRET, or TAILRACE_INGRESS_TENANT and TAILRACE_INGRESS_APP");
      }
    }
    this.sourcesStarted = true;
  }

  private usableDir(what: string, dir: string): boolean {
    if (dir && existsSync(dir)) return true;
    this.logger.info({ dir }, `${what} log directory not found; ${what} source skipped`);
    return false;
  }

  private need(): NatsPublisher {
    if (!this.publisher) throw new Error("agent not started");
    return this.publisher;
  }

  private checks(): Record<string, boolean> {
    const nc = this.nc;
    return { nats: !!nc && !nc.isClosed() && nc.info !== undefined, sources: this.sourcesStarted };
  }

  channel(tenant: string, sourceId: string): AppChannel {
    return this.need().channel(tenant, sourceId);
  }

  /** Runs a process as a container runtime would, with its logs and (every metrics interval) its resource metrics. */
  supervise(p: SupervisedProcess): ProcessHandle {
    const info = {
      tenant: p.tenant,
      app: p.app,
      processType: p.processType,
      instanceId: p.instanceId,
      logRateLimit: p.logRateLimit ?? this.config.TAILRACE_LOG_RATE_LIMIT,
    };
    const sink = new InstanceSink(info, this.channel(p.tenant, p.app), this.counters, "process");
    const handle = superviseProcess(p, sink, this.logger);
    const pid = handle.pid;
    if (pid !== undefined && this.collector) {
      const target = { sink, read: () => readProcessTree(pid, this.cgroupRoot) };
      this.collector.add(target);
      void handle.exited.then(() => this.collector?.remove(target));
    }
    return handle;
  }

  /** The agent's own counters (ingress, egress, dropped by reason, file lag), as /metrics shows them. */
  stats(): AgentStats {
    const files = [...(this.docker?.files ?? []), ...(this.cri?.tailers ?? [])];
    const p = this.publisher;
    return snapshot(
      this.counters,
      p?.stats ?? noPublisherStats(),
      p?.buffer.size ?? 0,
      { open: files.length, lagBytes: files.reduce((n, f) => n + f.lag, 0) },
      this.collector?.emitted ?? 0,
    );
  }

  /**
   * Stops taking input, lets file sources finish the chunk in flight (and checkpoint it), publishes what is buffered
   * (waiting up to `timeoutMs` for acks), then closes the NATS connection. Returns how many envelopes were unsent.
   */
  async stop(timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    await Promise.all([this.syslog?.close(), this.ingress?.close(), this.collector?.stop()]);
    const sources = Promise.all([this.docker?.stop(), this.cri?.stop()]);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([sources, new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    const left = (await this.publisher?.stop(Math.max(100, deadline - Date.now()))) ?? 0;
    await this.http?.close();
    await this.nc?.drain().catch(() => this.nc?.close());
    await this.telemetry.shutdown();
    return left;
  }

  /** Feeds the standard received/sent/dropped counters from the agent's own counts. */
  private observe(): void {
    const t = this.telemetry;
    t.observeCounter(INSTRUMENTS.received, "Envelopes taken in, by component, direction and source.", () =>
      Object.entries(this.stats().ingress.envelopes).map(([source, n]) => [n, { direction: "ingress", source }] as const),
    );
    t.observeCounter(INSTRUMENTS.sent, "Envelopes handed on, by component and direction.", () => [
      [this.stats().egress.envelopes, { direction: "egress" }] as const,
    ]);
    t.observeCounter(INSTRUMENTS.dropped, "Envelopes dropped, by component, direction and reason.", () =>
      Object.entries(this.stats().dropped).map(([reason, n]) => [n, { direction: "egress", reason }] as const),
    );
  }
}
