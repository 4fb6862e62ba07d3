import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "./logger.js";
import { redactUrl } from "./logger.js";

export type { NatsConnection };

export interface NatsOptions {
  /** One URL or several, comma-separated. */
  url: string;
  /** Shown in the server's connz, e.g. `tailrace-doppler`. */
  name: string;
  logger: Logger;
  /** Give up if the first connection fails for this long (ms); reconnects after that are unbounded. */
  connectTimeoutMs?: number;
}

/** Connects to NATS, reconnecting forever, and logs every status change. */
export async function connectNats(opts: NatsOptions): Promise<NatsConnection> {
  const servers = opts.url.split(",").map((s) => s.trim());
  const nc = await connect({
    servers,
    name: opts.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    timeout: opts.connectTimeoutMs ?? 5000,
    waitOnFirstConnect: false,
  });
  const log = opts.logger.child({ nats: servers.map(redactUrl).join(",") });
  log.info("connected to NATS");
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "disconnect" || s.type === "reconnect" || s.type === "error") {
        log.warn({ status: s.type, server: "server" in s ? s.server : undefined }, "NATS connection status");
      }
    }
  })();
  return nc;
}
