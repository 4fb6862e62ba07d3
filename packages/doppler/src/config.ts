import { drainsApiSpec } from "@tailrace/drainer";
import { ConfigError, type ConfigOf, duration, int, loadConfig, natsSpec, port, secret, str, url } from "@tailrace/runtime";

/** Every setting of the doppler, in one place. docs/CONFIGURATION.md is generated from this. */
export const dopplerSpec = {
  NATS_URL: url("NATS server URL(s), comma-separated", ["nats:", "tls:"], "nats://127.0.0.1:4222"),
  ...natsSpec,
  TAILRACE_JWT_SECRET: secret("HS256 secret that signs tokens (at least 16 characters); this or TAILRACE_JWKS_URL is required", ""),
  TAILRACE_JWKS_URL: url("OIDC provider's JWKS URL, for RS256/ES256 tokens", ["https:", "http:"], ""),
  TAILRACE_JWT_ISSUER: str("required `iss` of tokens, when set", ""),
  TAILRACE_JWT_AUDIENCE: str("required `aud` of tokens, when set", ""),
  TAILRACE_DOPPLER_HOST: str("address the HTTP/websocket API listens on", "0.0.0.0"),
  TAILRACE_DOPPLER_PORT: port("port of the HTTP/websocket API", 8080),
  TAILRACE_TLS_CERT: str("PEM certificate chain: with TAILRACE_TLS_KEY, the API serves HTTPS/WSS only (TLS 1.2+)", ""),
  TAILRACE_TLS_KEY: str("PEM private key for TAILRACE_TLS_CERT", ""),
  TAILRACE_RECENT_PER_APP: int(
    "NATS messages (batches) kept per app and envelope kind; each holds one or more envelopes",
    1000,
    10,
    1_000_000,
  ),
  TAILRACE_RETENTION: duration("longest an envelope is kept for recent reads, tails' resume and drains", 24 * 3_600_000),
  TAILRACE_STREAM_MAX_BYTES: int(
    "bytes the data stream may hold in all; the oldest go first",
    1024 ** 3,
    1024 ** 2,
    Number.MAX_SAFE_INTEGER,
  ),
  TAILRACE_STREAM_REPLICAS: int(
    "JetStream replicas of the data stream and the app and drain buckets; 0 (unset) picks 3 on a cluster of three or more servers, else 1",
    0,
    0,
    5,
  ),
  TAILRACE_TAIL_QUEUE: int("envelopes queued per tail before the oldest are dropped", 10_000, 100, 1_000_000),
  TAILRACE_TAIL_CONSUMERS: int(
    "apps whose live tails get a JetStream consumer of their own; the tails of further apps share one consumer on the whole data stream (0: all share it)",
    64,
    0,
    100_000,
  ),
  TAILRACE_TAIL_FLUSH: duration(
    "how long a tail gathers envelopes into one frame while the doppler keeps up; while its event loop is behind, tails gather longer (up to 500 ms)",
    5,
  ),
  TAILRACE_TAIL_MAX_BUFFERED: int(
    "bytes a tail's socket may hold unsent before its queue absorbs and then drops",
    4 * 1024 ** 2,
    64 * 1024,
    1024 ** 3,
  ),
  ...drainsApiSpec,
  TAILRACE_MAX_TAILS_PER_TENANT: int("websocket tails one tenant may hold open on this doppler", 1000, 1, 1_000_000),
  TAILRACE_MAX_TAILS_PER_ADDRESS: int("websocket tails one client address may hold open on this doppler", 1000, 1, 1_000_000),
  TAILRACE_REQUEST_RATE: int("requests per second per token (bursts of twice that); more get 429", 50, 1, 1_000_000),
  TAILRACE_METRICS_INTERVAL: duration("how often agents send container metrics (the agents' setting of the same name)", 15_000),
  TAILRACE_METRICS_STALENESS: duration(
    "a tenant metric series not updated for this long disappears from /v1/tenants/{tenant}/metrics; 0 means 3 × TAILRACE_METRICS_INTERVAL",
    0,
  ),
  TAILRACE_METRICS_MAX_SERIES: int(
    "metric series kept per tenant; past it new series are refused, counted and noticed in the tenant's stream",
    20_000,
    1,
    10_000_000,
  ),
  TAILRACE_TAIL_HOPELESS: duration("how long a tail may stay behind before it is disconnected (close code 4008)", 30_000),
};

export type DopplerConfig = ConfigOf<typeof dopplerSpec>;

export function loadDopplerConfig(env: NodeJS.ProcessEnv = process.env): DopplerConfig {
  const c = loadConfig(dopplerSpec, env);
  if (!c.TAILRACE_JWT_SECRET && !c.TAILRACE_JWKS_URL) {
    throw new ConfigError(["TAILRACE_JWT_SECRET or TAILRACE_JWKS_URL is required: tokens must be verifiable"]);
  }
  if (c.TAILRACE_JWT_SECRET && c.TAILRACE_JWT_SECRET.length < 16) {
    throw new ConfigError(["TAILRACE_JWT_SECRET=(secret): must be at least 16 characters"]);
  }
  return c;
}
