/**
 * The agent's whole data path on one screen:
 *
 *   sources (supervised process, …) ──► AppChannel ──► FairBuffer ──► batches ──► JetStream (tr.data.<tenant>.<app>.<kind>)
 */
import { hostname } from "node:os";
import { jetstream } from "@nats-io/jetstream";
import { connectNats, type Logger, type NatsConnection } from "@tailrace/runtime";
import type { AgentConfig } from "./config.js";
import { AppClaims } from "./egress/claims.js";
import { type AppChannel, NatsPublisher } from "./egress/nats.js";
import { type ProcessHandle, type SupervisedProcess, superviseProcess } from "./ingress/process.js";

export class Agent {
  private nc: NatsConnection | undefined;
  private publisher: NatsPublisher | undefined;

  constructor(
    private readonly config: AgentConfig,
    private readonly logger: Logger,
  ) {}

  get stats() {
    return this.publisher?.stats;
  }

  async start(): Promise<void> {
    const id = this.config.TAILRACE_AGENT_ID || `${hostname()}-${process.pid}`;
    this.nc = await connectNats({ url: this.config.NATS_URL, name: `tailrace-agent-${id}`, logger: this.logger });
    this.publisher = new NatsPublisher(jetstream(this.nc), new AppClaims(this.nc), {
      bufferSize: this.config.TAILRACE_AGENT_BUFFER,
      maxBatch: this.config.TAILRACE_AGENT_BATCH,
      flushMs: this.config.TAILRACE_AGENT_FLUSH,
      maxInFlight: this.config.TAILRACE_AGENT_IN_FLIGHT,
      agentId: `${id}-${Date.now().toString(36)}`,
      logger: this.logger,
    });
  }

  /** Starts the host's sources (container logs, syslog, local ingress) as configured. */
  async startSources(): Promise<void> {
    // Sources that tail the host arrive with the agent issue; supervised processes attach through supervise().
  }

  channel(tenant: string, sourceId: string): AppChannel {
    if (!this.publisher) throw new Error("agent not started");
    return this.publisher.channel(tenant, sourceId);
  }

  supervise(p: SupervisedProcess): ProcessHandle {
    return superviseProcess(p, this.channel(p.tenant, p.app), this.logger);
  }

  /** Publishes what is buffered (waiting up to `timeoutMs` for acks), then closes the NATS connection. */
  async stop(timeoutMs = 10_000): Promise<number> {
    const left = (await this.publisher?.stop(timeoutMs)) ?? 0;
    await this.nc?.drain().catch(() => this.nc?.close());
    return left;
  }
}
