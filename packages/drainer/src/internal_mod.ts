export type { Cidr, Ip } from "./binding/ip.js";
export { cidrContains, formatIp, parseCidr, parseIp } from "./binding/ip.js";
export { drainStreamName } from "./drain/stream.js";
export { escapeParamValue, sdName, tagsElement } from "./format/sd.js";
export { rfc3339Micros } from "./format/timestamp.js";
export * from "./mod.js";
