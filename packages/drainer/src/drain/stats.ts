/** Self-telemetry of one drain, the same counters for every kind of drain. */
export interface DrainStats {
  id: string;
  tenant: string;
  source_id: string;
  /** Anonymised. */
  url: string;
  /** This drainer holds the drain's lease and is the one writing it. */
  active: boolean;
  /** Syslog messages delivered (confirmed by the connection, or a 2xx). */
  sent: number;
  /** Failed connects, broken connections, failed requests. */
  errors: number;
  retries: number;
  /** NATS messages (batches) not yet delivered to this drain: waiting in JetStream or in flight. */
  lag: number;
  /** Envelopes given up: past retention, or refused by the receiver for good. */
  lost: number;
  /** This drainer holds the drain but has not been able to set it up on NATS for `TAILRACE_DRAIN_UNSERVED_AFTER`. */
  unserved: boolean;
  /** Times the drain caught up behind the feed on a consumer of its own, and on a replay shared with others (replay.ts). */
  catchups: number;
  replays: number;
}
