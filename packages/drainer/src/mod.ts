export { Drainer } from "./app.js";
export { anonymize } from "./binding/anonymize.js";
export type { LookupAll } from "./binding/guard.js";
export { AddressGuard, parseAllowList } from "./binding/guard.js";
export type { DrainTls } from "./binding/tls.js";
export { checkDrainTls, describeTls } from "./binding/tls.js";
export type { DrainCredentials, DrainData, DrainScheme, DrainUrl } from "./binding/url.js";
export { DEFAULT_PORTS, MAX_DRAIN_URL_LENGTH, parseDrainUrl } from "./binding/url.js";
export type { DrainerConfig, DrainsApiConfig } from "./config.js";
export { drainerSpec, drainsApiSpec, loadDrainerConfig, loadDrainsApiConfig } from "./config.js";
export type { DrainStats } from "./drain/stats.js";
export {
  DrainAddressRefusedError,
  DrainExistsError,
  DrainLimitError,
  DrainResolveError,
  InvalidCidrError,
  InvalidDrainTlsError,
  InvalidDrainUrlError,
} from "./errors.js";
export { logplexFrames, octetFrame } from "./format/octet.js";
export type { SyslogFormatOptions } from "./format/rfc5424.js";
export { formatSyslog, formatSyslogMetric, syslogMessages } from "./format/rfc5424.js";
export type { Binding, PublicBinding } from "./store/bindings.js";
export { DRAINS_BUCKET, DrainStore, toPublic } from "./store/bindings.js";
export { CURSORS_BUCKET } from "./store/cursors.js";
export { LEASES_BUCKET } from "./store/leases.js";
