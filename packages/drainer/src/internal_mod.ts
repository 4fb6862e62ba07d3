export type { Cidr, Ip } from "./binding/ip.js";
export { cidrContains, formatIp, parseCidr, parseIp } from "./binding/ip.js";
export { CatchUp } from "./drain/catchup.js";
export { SHARDS, shardOf } from "./drain/shards.js";
export type { KV as OtlpKeyValue, OMetric, ORecord, ORequest, OtlpResource, Point as OtlpPoint } from "./egress/otlp/receiver.js";
export { decodeOtlpRequest } from "./egress/otlp/receiver.js";
export { escapeParamValue, sdName, tagsElement } from "./format/sd.js";
export { rfc3339Micros } from "./format/timestamp.js";
export * from "./mod.js";
