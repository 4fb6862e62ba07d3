export type { ConfigOf, Setting, Spec } from "./config.js";
export {
  bool,
  ConfigError,
  checkUnknown,
  describe,
  duration,
  formatDuration,
  int,
  loadConfig,
  parseDuration,
  port,
  secret,
  str,
  url,
} from "./config.js";
export type { Readiness } from "./health.js";
export { readyzBody } from "./health.js";
export { isTransientNatsError, NatsUnavailableError, QUICK_TIMEOUT_MS, quickJetStream, retryTransient } from "./js_retry.js";
export { closeHttpServer, listenOn } from "./listen.js";
export type { Logger, LoggerOptions } from "./logger.js";
export { createLogger, redactUrl } from "./logger.js";
export type { NatsConnection, NatsOptions } from "./nats.js";
export { chooseReplicas, clusterSize, connectNats, NATS_CLIENT_DEFAULTS, NatsCredentialsError, openJetStream } from "./nats.js";
export type { NatsSecurity, NatsSettings } from "./nats_config.js";
export { natsSecurity, natsSpec } from "./nats_config.js";
export type { ReaderMessage, ReaderOptions, ReaderStart } from "./stream_reader.js";
export { replicaBehind, StreamReader } from "./stream_reader.js";
export type { Count, Direction, DrainSample, Labels, Level, Observation, Timing } from "./telemetry.js";
export { INSTRUMENTS, SECONDS_BUCKETS, Telemetry } from "./telemetry.js";
export type { ServerTls } from "./tls.js";
export { serverTls, TlsConfigError } from "./tls.js";
