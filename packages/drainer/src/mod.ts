export { anonymize } from "./binding/anonymize.js";
export type { LookupAll } from "./binding/guard.js";
export { AddressGuard, parseAllowList } from "./binding/guard.js";
export type { DrainCredentials, DrainData, DrainScheme, DrainUrl } from "./binding/url.js";
export { DEFAULT_PORTS, MAX_DRAIN_URL_LENGTH, parseDrainUrl } from "./binding/url.js";
export { DrainAddressRefusedError, DrainResolveError, InvalidCidrError, InvalidDrainUrlError } from "./errors.js";
export { logplexFrames, octetFrame } from "./format/octet.js";
export type { SyslogFormatOptions } from "./format/rfc5424.js";
export { formatSyslog, formatSyslogMetric, syslogMessages } from "./format/rfc5424.js";
