import { homedir } from "node:os";
import { join } from "node:path";
import { checkName } from "@tailrace/envelope";
import { bool, ConfigError, type ConfigOf, duration, int, loadConfig, natsSpec, type Setting, secret, str, url } from "@tailrace/runtime";

/** `host:port`, or empty for "off". IPv6 hosts go in brackets: `[::1]:514`. */
export const hostPort = (doc: string, dflt: string): Setting<string> => ({
  doc,
  parse(raw) {
    if (raw === "off") return "";
    parseHostPort(raw);
    return raw;
  },
  default: dflt,
});

export function parseHostPort(raw: string): { host: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(raw.trim());
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new Error("must be host:port, e.g. 127.0.0.1:5514 (or `off`)");
  return { host: (m[1] ?? m[2]) as string, port };
}

const name = (doc: string): Setting<string> => ({
  doc,
  parse: (raw) => checkName("name", raw),
  default: "",
});

const bytes = (doc: string, dflt: number, min: number, max: number): Setting<number> => int(doc, dflt, min, max);

/** A comma-separated list of attribute names (OpenTelemetry's dotted names). */
const names = (doc: string, dflt: string[]): Setting<string[]> => ({
  doc,
  parse: (raw) => {
    const list = raw
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    if (list.some((s) => s.length > 256)) throw new Error("names must be at most 256 characters");
    return list;
  },
  default: dflt,
  display: dflt.join(","),
});

/** Root runs as a system service; anyone else keeps state under their home, so `tailrace agent` runs unprivileged. */
const defaultStateDir = process.getuid?.() === 0 ? "/var/lib/tailrace/agent" : join(homedir(), ".local", "state", "tailrace", "agent");

/** Every setting of the agent, in one place. docs/CONFIGURATION.md and docs/AGENT.md are generated from this. */
export const agentSpec = {
  NATS_URL: url("NATS server URL(s), comma-separated", ["nats:", "tls:"], "nats://127.0.0.1:4222"),
  ...natsSpec,
  TAILRACE_AGENT_BUFFER: int("envelopes the agent holds in memory before dropping the oldest of the busiest app", 100_000, 100, 10_000_000),
  TAILRACE_AGENT_BATCH: int(
    "most envelopes in one NATS message; an app backed up behind its batch in flight sends up to four times that at once, within the server's max_payload",
    512,
    1,
    10_000,
  ),
  TAILRACE_AGENT_FLUSH: duration("longest a partial batch waits before it is published", 5),
  TAILRACE_AGENT_IN_FLIGHT: int(
    "NATS publishes awaiting their JetStream ack at once (one per app and kind at most, so a retried batch keeps its place)",
    32,
    1,
    1024,
  ),
  TAILRACE_AGENT_ID: str("names this agent in NATS and in message ids; defaults to host name and pid", ""),
  TAILRACE_AGENT_HTTP_ADDR: hostPort("host:port of the agent's /healthz, /readyz and /metrics (`off` to disable)", "127.0.0.1:9466"),
  TAILRACE_DOCKER_DIR: str("Docker's containers directory (json-file logs); skipped when it does not exist", "/var/lib/docker/containers"),
  TAILRACE_CRI_DIR: str("the kubelet's pod log directory (CRI logs); skipped when it does not exist", "/var/log/pods"),
  TAILRACE_KUBERNETES_API: url(
    "Kubernetes API server (e.g. https://kubernetes.default.svc); with it, CRI logs take their tenant from the namespace's tailrace.tenant label and app, process, instance and rate limit from the pod's labels",
    ["https:", "http:"],
    "",
  ),
  TAILRACE_KUBERNETES_SA_DIR: str(
    "service account directory (token, ca.crt) for TAILRACE_KUBERNETES_API",
    "/var/run/secrets/kubernetes.io/serviceaccount",
  ),
  TAILRACE_STATE_DIR: str("where read offsets (checkpoints) are kept", defaultStateDir),
  TAILRACE_CGROUP_ROOT: str("cgroup v2 mount to read container metrics from; empty finds it in /proc/self/mountinfo", ""),
  TAILRACE_SYSLOG_ADDR: hostPort("host:port of the syslog listeners, UDP and TCP (`off` or empty: none)", ""),
  TAILRACE_INGRESS_ADDR: hostPort(
    "host:port of the local HTTP ingress: POST /v1/envelopes, and OTLP/HTTP /v1/logs and /v1/metrics (`off` to disable)",
    "127.0.0.1:9467",
  ),
  TAILRACE_INGRESS_TENANT: name("tenant of every envelope the HTTP ingress takes without a token"),
  TAILRACE_INGRESS_APP: name("source_id of every envelope the HTTP ingress takes without a token (with TAILRACE_INGRESS_TENANT)"),
  TAILRACE_INGRESS_MAX_BYTES: bytes("largest HTTP ingress request body", 1024 * 1024, 1024, 64 * 1024 * 1024),
  TAILRACE_OTLP_MAX_DECODED_BYTES: bytes(
    "largest OTLP body (POST /v1/logs, /v1/metrics) once gunzipped; inflating stops there (413)",
    8 * 1024 * 1024,
    1024,
    256 * 1024 * 1024,
  ),
  TAILRACE_OTLP_MAX_ATTRIBUTES: int("tags one OTLP log record or data point takes from its attributes and its resource's", 32, 0, 48),
  TAILRACE_OTLP_MAX_TAG_VALUE: int("characters of one tag value taken from an OTLP attribute; longer values are cut", 1024, 16, 2048),
  TAILRACE_OTLP_METRIC_RESOURCE_ATTRIBUTES: names(
    "resource attributes that become tags (series labels) of OTLP metrics; a data point's own attributes always do",
    ["service.name", "service.namespace"],
  ),
  TAILRACE_TLS_CERT: str(
    "PEM certificate chain: with TAILRACE_TLS_KEY, the HTTP ingress serves HTTPS and syslog TCP speaks TLS (TLS 1.2+)",
    "",
  ),
  TAILRACE_TLS_KEY: str("PEM private key for TAILRACE_TLS_CERT", ""),
  TAILRACE_JWT_SECRET: secret("HS256 secret that verifies HTTP ingress tokens; without it, only the configured tenant/app is accepted", ""),
  TAILRACE_DEFAULT_TENANT: name("tenant for Docker containers without a tailrace.tenant label; empty skips them"),
  TAILRACE_SYSLOG_TENANT: name("tenant for syslog messages that name none (no SD tenant, no tenant.app hostname); empty refuses them"),
  TAILRACE_LOG_RATE_LIMIT: int(
    "default per-instance log rate limit in bytes/s; 0 is off (label tailrace.log_rate_limit overrides)",
    0,
    0,
    2 ** 40,
  ),
  TAILRACE_METRICS_INTERVAL: duration("how often container and process metrics are emitted", 15_000),
  TAILRACE_SCAN_INTERVAL: duration("how often the Docker and CRI directories are scanned for new containers", 1000),
  TAILRACE_FILE_POLL: duration("how often a log file at its end is checked for more data, rotation and removal", 100),
  TAILRACE_READ_CHUNK: bytes(
    "bytes read from a log file at once; also the most one crash may repeat per file",
    128 * 1024,
    4096,
    16 * 1024 * 1024,
  ),
  TAILRACE_CHECKPOINT_FSYNC: bool("fsync each checkpoint before renaming it into place (survives power loss, costs IO)", true),
};

export type AgentConfig = ConfigOf<typeof agentSpec>;

export function loadAgentConfig(env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const c = loadConfig(agentSpec, env);
  if (!c.TAILRACE_INGRESS_TENANT !== !c.TAILRACE_INGRESS_APP) {
    throw new ConfigError(["TAILRACE_INGRESS_TENANT and TAILRACE_INGRESS_APP go together: set both or neither"]);
  }
  if (c.TAILRACE_JWT_SECRET && c.TAILRACE_JWT_SECRET.length < 16) {
    throw new ConfigError(["TAILRACE_JWT_SECRET=(secret): must be at least 16 characters"]);
  }
  return c;
}
