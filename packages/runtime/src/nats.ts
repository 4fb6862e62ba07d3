import { readFileSync } from "node:fs";
import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import {
  type Authenticator,
  connect,
  credsAuthenticator,
  type NatsConnection,
  type NodeConnectionOptions,
  nkeyAuthenticator,
  usernamePasswordAuthenticator,
} from "@nats-io/transport-node";
import type { Logger } from "./logger.js";
import { redactUrl } from "./logger.js";
import type { NatsSecurity } from "./nats_config.js";

export type { NatsConnection };

export interface NatsOptions {
  /** One URL or several, comma-separated. */
  url: string;
  /** Shown in the server's connz, e.g. `tailrace-doppler`. */
  name: string;
  logger: Logger;
  /** How long one attempt to connect to one server may take (ms; default {@link CONNECT_TIMEOUT_MS}). */
  connectTimeoutMs?: number;
  /** Credentials, TLS and inbox prefix, from {@link natsSecurity}. Without it: no credentials, TLS only if offered. */
  security?: NatsSecurity;
  /**
   * False skips nats.js's async stack trace on every request (a RequestError made per request, in case it fails):
   * for a process whose hot path is requests, e.g. the agent's JetStream publishes, where that cost 5% of its CPU
   * and more in GC (bench/e2e_tail.mjs, issue 13). Errors still arrive typed, without the caller's async frames.
   */
  asyncTraces?: boolean;
}

/** A credentials file that cannot be read. Names the file, never its content. */
export class NatsCredentialsError extends Error {
  override name = "NatsCredentialsError";
}

/**
 * Reads a secret file now (so a bad path stops start-up with a clear error) and again at each reconnect (so a rotated
 * file is picked up), falling back to the last good read.
 */
function fileSource(path: string, what: string, trim: boolean): () => Uint8Array {
  const read = () => {
    const b = readFileSync(path);
    return trim ? new TextEncoder().encode(b.toString("utf8").trim()) : new Uint8Array(b);
  };
  let last: Uint8Array;
  try {
    last = read();
  } catch (err) {
    throw new NatsCredentialsError(`cannot read the NATS ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? "error"}`, {
      cause: err,
    });
  }
  return () => {
    try {
      last = read();
    } catch {
      // Keep the last good copy: a file being replaced must not break a reconnect.
    }
    return last;
  };
}

function authenticator(s: NatsSecurity): Authenticator | undefined {
  if (s.credsFile) return credsAuthenticator(fileSource(s.credsFile, "creds file", false));
  if (s.nkeySeedFile) return nkeyAuthenticator(fileSource(s.nkeySeedFile, "nkey seed file", true));
  if (s.user) return usernamePasswordAuthenticator(s.user, s.password ?? "");
  return undefined;
}

/** The nats.js options for `security`; exported for tests. */
export function securityOptions(s: NatsSecurity | undefined): Partial<NodeConnectionOptions> {
  if (!s) return {};
  const auth = authenticator(s);
  return {
    inboxPrefix: s.inboxPrefix,
    ...(auth ? { authenticator: auth } : {}),
    ...(s.tls
      ? {
          tls: {
            ...(s.caFile ? { caFile: s.caFile } : {}),
            ...(s.certFile ? { certFile: s.certFile } : {}),
            ...(s.keyFile ? { keyFile: s.keyFile } : {}),
          },
        }
      : {}),
  };
}

/**
 * How long one attempt to connect to one server may take. A frozen server accepts the TCP connection (its kernel
 * does) and never sends INFO, and nats.js's first reconnect goes back to the server it just lost: every second of
 * this is a second a frozen node's clients wait before they try the next one. A live server answers in milliseconds,
 * TLS and credentials included.
 */
export const CONNECT_TIMEOUT_MS = 2000;

/**
 * How every component's connection behaves, also on a cluster: reconnect forever with jitter, and find a frozen or
 * partitioned server by its missed pings within 3 to 4 s (nats.js would wait 4 minutes by default), then move to
 * another server of the list. The frozen-node drill saw tails pause 10 to 20 s with pings 5 s apart, and 13 to 18 s
 * with 2 s apart (detection, then the reconnect's dial to the frozen server, then the readers' backoff). A busy event
 * loop is not taken for a dead server: nats.js counts a missed ping per timer run, and reads the socket (and the
 * pongs in it) between two runs. Tests and benches connect with the same settings.
 */
export const NATS_CLIENT_DEFAULTS = {
  maxReconnectAttempts: -1,
  reconnectTimeWait: 250,
  reconnectJitter: 250,
  pingInterval: 1000,
  maxPingOut: 3,
  waitOnFirstConnect: false,
  timeout: CONNECT_TIMEOUT_MS,
} as const;

/** Connects to NATS, reconnecting forever, and logs every status change. Credentials never reach a log line. */
export async function connectNats(opts: NatsOptions): Promise<NatsConnection> {
  const servers = opts.url.split(",").map((s) => s.trim());
  const nc = await connect({
    servers,
    name: opts.name,
    ...NATS_CLIENT_DEFAULTS,
    timeout: opts.connectTimeoutMs ?? NATS_CLIENT_DEFAULTS.timeout,
    ...(opts.asyncTraces === false ? { noAsyncTraces: true } : {}),
    ...securityOptions(opts.security),
  });
  const s = opts.security;
  const log = opts.logger.child({ nats: servers.map(redactUrl).join(",") });
  log.info(
    {
      server: nc.info?.server_name,
      cluster: nc.info?.cluster ?? null,
      auth: s?.credsFile ? "creds" : s?.nkeySeedFile ? "nkey" : s?.user ? `user ${s.user}` : "none",
      tls: Boolean(s?.tls),
      mtls: Boolean(s?.certFile),
    },
    "connected to NATS",
  );
  void (async () => {
    for await (const st of nc.status()) {
      if (st.type === "disconnect" || st.type === "reconnect" || st.type === "error") {
        // Errors include permission violations (deploy/nats/ denies a subject): their message names the subject only.
        const err = st.type === "error" ? st.error.message : undefined;
        log.warn(
          { status: st.type, server: "server" in st ? st.server : undefined, serverName: nc.info?.server_name, err },
          st.type === "reconnect" ? `NATS reconnected, now on ${nc.info?.server_name ?? "a server"}` : "NATS connection status",
        );
      }
    }
  })();
  return nc;
}

/** Servers in the connected server's cluster, itself included (1 when it is not clustered), from its INFO. */
export function clusterSize(nc: NatsConnection): number {
  const info = nc.info;
  if (!info?.cluster) return 1;
  return Math.max(1, info.connect_urls?.length ?? 1);
}

/**
 * The JetStream replica count to create streams and buckets with: `configured` where it is set (above 0), else 3 on
 * a cluster of three or more servers and 1 otherwise. The automatic choice is logged, so it is never a surprise.
 */
export function chooseReplicas(nc: NatsConnection, configured: number, setting: string, logger: Logger): number {
  if (configured > 0) return configured;
  const servers = clusterSize(nc);
  const replicas = servers >= 3 ? 3 : 1;
  logger.info(
    { replicas, servers, cluster: nc.info?.cluster ?? null, setting },
    `JetStream replicas: ${replicas} (${setting} unset; ${servers === 1 ? "a single server" : `a cluster of ${servers} servers`})`,
  );
  return replicas;
}

/**
 * Waits for JetStream to answer on `nc` (a cluster that is starting has no meta leader for a few seconds) and
 * returns its manager. Logs while it waits; throws after `timeoutMs`.
 */
export async function openJetStream(nc: NatsConnection, logger: Logger, timeoutMs = 60_000): Promise<JetStreamManager> {
  const until = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await jetstreamManager(nc, { timeout: 5000 });
    } catch (err) {
      if (Date.now() > until) throw new Error(`JetStream did not answer in ${timeoutMs} ms: ${(err as Error).message}`, { cause: err });
      if (attempt % 5 === 0) logger.warn({ err: (err as Error).message, server: nc.info?.server_name }, "waiting for JetStream");
      await new Promise((r) => setTimeout(r, 500 + Math.random() * 500));
    }
  }
}
