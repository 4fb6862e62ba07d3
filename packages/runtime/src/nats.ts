import { readFileSync } from "node:fs";
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
  /** Give up if the first connection fails for this long (ms); reconnects after that are unbounded. */
  connectTimeoutMs?: number;
  /** Credentials, TLS and inbox prefix, from {@link natsSecurity}. Without it: no credentials, TLS only if offered. */
  security?: NatsSecurity;
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

/** Connects to NATS, reconnecting forever, and logs every status change. Credentials never reach a log line. */
export async function connectNats(opts: NatsOptions): Promise<NatsConnection> {
  const servers = opts.url.split(",").map((s) => s.trim());
  const nc = await connect({
    servers,
    name: opts.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    timeout: opts.connectTimeoutMs ?? 5000,
    waitOnFirstConnect: false,
    ...securityOptions(opts.security),
  });
  const s = opts.security;
  const log = opts.logger.child({ nats: servers.map(redactUrl).join(",") });
  log.info(
    {
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
        log.warn({ status: st.type, server: "server" in st ? st.server : undefined, err }, "NATS connection status");
      }
    }
  })();
  return nc;
}
