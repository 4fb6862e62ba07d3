// What sibling packages and tests may use: everything public, and (when there is any) what only they need.

export { decodeEnvelopeAt, Reader } from "./codec.js";
export * from "./mod.js";
export { type RenderedBatch, renderProtoJsonBatch } from "./protojson_bytes.js";
export { renderBatchProtoJson, type WireBatch } from "./protojson_wire.js";
