export { decodeBatch, encodeBatch } from "./codec.js";
export type { Counter, Envelope, EnvelopeType, Event, Gauge, GaugeValue, Kind, Log, LogType, Timer } from "./envelope.js";
export { ENVELOPE_TYPES, KINDS, kindFromEnvelopeType, kindOf, logEnvelope, nowNs, nsToDate } from "./envelope.js";
export { CodecError, InvalidEnvelopeError, InvalidNameError } from "./errors.js";
export { checkName, isValidName } from "./names.js";
export { lgrNotice } from "./notice.js";
export { fromProtoJson, fromProtoJsonBatch, toProtoJson, toProtoJsonBatch } from "./protojson.js";
export type { DataSubject } from "./subjects.js";
export {
  ALL_DATA,
  APPS_BUCKET,
  appFilter,
  DATA_PREFIX,
  DATA_STREAM,
  DRAIN_STREAM,
  dataSubject,
  parseDataSubject,
  tenantFilter,
} from "./subjects.js";
export { MAX_PAYLOAD_BYTES, validateEnvelope } from "./validate.js";
