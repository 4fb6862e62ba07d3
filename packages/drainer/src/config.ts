import { bool, type ConfigOf, duration, int, loadConfig, natsSpec, port, type Setting, str, url } from "@tailrace/runtime";
import { parseAllowList } from "./binding/guard.js";

const cidrs = (doc: string): Setting<string> => ({
  doc,
  parse(raw) {
    parseAllowList(raw); // throws InvalidCidrError naming the bad entry
    return raw;
  },
  default: "",
});

/**
 * The settings the drains API (in the doppler) and the drainer share: both validate bindings, and must agree.
 */
export const drainsApiSpec = {
  TAILRACE_DRAIN_ALLOW_CIDRS: cidrs(
    "CIDRs drains may reach although they are loopback, private or link-local, comma-separated (e.g. 10.1.0.0/16)",
  ),
  TAILRACE_DRAIN_MAX_PER_APP: int("drains one app may have", 5, 1, 100),
  TAILRACE_DRAIN_MAX_PER_TENANT: int("drains one tenant may have over all its apps", 100, 1, 100_000),
  TAILRACE_DRAIN_ALLOW_PLAIN_OTLP: bool(
    "accept otlp+http:// drains (OTLP in clear text, e.g. to a collector inside the cluster); otherwise the drains API refuses them with a 400 and drainers skip them",
    false,
  ),
};

/** Every setting of the drainer, in one place. docs/CONFIGURATION.md is generated from this. */
export const drainerSpec = {
  NATS_URL: url("NATS server URL(s), comma-separated", ["nats:", "tls:"], "nats://127.0.0.1:4222"),
  ...natsSpec,
  ...drainsApiSpec,
  TAILRACE_DRAINER_HOST: str("address the drainer's /healthz, /readyz and /metrics listen on", "0.0.0.0"),
  TAILRACE_DRAINER_PORT: port("port of the drainer's /healthz, /readyz and /metrics (0 picks a free one)", 8090),
  TAILRACE_DRAINER_ID: str("this drainer's name in drain leases; defaults to host name, pid and a random suffix", ""),
  TAILRACE_DRAIN_RETENTION: duration(
    "how far behind a drain may fall by time (the drains' buffer's max age); older messages are skipped, counted and noticed as lost",
    24 * 3_600_000,
  ),
  TAILRACE_DRAIN_MAX_BYTES: int(
    "bytes the drains' buffer (TAILRACE_DRAINS, one stream for every drained app) keeps in all; the oldest go first, counted and noticed as lost to the drains that had not read them",
    1024 ** 3,
    1024 ** 2,
    Number.MAX_SAFE_INTEGER,
  ),
  TAILRACE_DRAIN_PER_APP: int(
    "NATS messages (batches) the drains' buffer keeps per app and envelope kind, so one app's flood pushes out only its own backlog",
    20_000,
    10,
    100_000_000,
  ),
  TAILRACE_DRAIN_MAX_CONSUMERS: int(
    "most consumers the drains' buffer takes (one per drainer, plus one per drain that is behind); a drain refused one counts as unserved. 0: no limit. Fixed when the buffer is made",
    0,
    0,
    1_000_000,
  ),
  TAILRACE_DRAIN_STREAM_REPLICAS: int(
    "JetStream replicas of the drains' buffer and the drainers' buckets; 0 (unset) picks 3 on a cluster of three or more servers, else 1",
    0,
    0,
    5,
  ),
  TAILRACE_DRAIN_MAX_BACKLOG: int(
    "how far behind a drain may fall in NATS messages (batches); beyond it the oldest are skipped, counted and noticed",
    1_000_000,
    100,
    100_000_000,
  ),
  TAILRACE_DRAIN_WINDOW: int("NATS messages (batches) in flight per drain, unconfirmed by its receiver", 2048, 1, 100_000),
  TAILRACE_DRAIN_CONFIRM: duration("how long a syslog connection must stay up after a write before the write counts as delivered", 500),
  TAILRACE_DRAIN_BACKOFF_MIN: duration("first reconnect/retry delay of a failing drain", 250),
  TAILRACE_DRAIN_BACKOFF_MAX: duration("cap of the reconnect/retry delay (jittered, exponential)", 30_000),
  TAILRACE_DRAIN_UNSERVED_AFTER: duration(
    "how long a drain's set-up on NATS may keep failing before it counts as unserved and its tenant is told",
    30_000,
  ),
  TAILRACE_DRAIN_LEASE_TTL: duration(
    "how long a dead drainer keeps its drains (their shards' leases) before another takes them over",
    10_000,
  ),
  TAILRACE_DRAIN_NOTICE_INTERVAL: duration("least time between two LGR error (or loss) lines of one drain", 60_000),
  TAILRACE_DRAIN_HTTP_BATCH_BYTES: int(
    "bytes an HTTPS or OTLP drain batch grows to before it is sent (for OTLP, before encoding and gzip)",
    500 * 1024,
    1024,
    16 * 1024 * 1024,
  ),
  TAILRACE_DRAIN_HTTP_FLUSH: duration("longest an HTTPS or OTLP drain batch waits before it is sent", 1000),
  TAILRACE_DRAIN_HTTP_TIMEOUT: duration("timeout of one HTTPS or OTLP drain request", 30_000),
};

export type DrainerConfig = ConfigOf<typeof drainerSpec>;
export type DrainsApiConfig = ConfigOf<typeof drainsApiSpec>;

export function loadDrainerConfig(env: NodeJS.ProcessEnv = process.env): DrainerConfig {
  return loadConfig(drainerSpec, env);
}

export function loadDrainsApiConfig(env: NodeJS.ProcessEnv = process.env): DrainsApiConfig {
  return loadConfig(drainsApiSpec, env);
}
