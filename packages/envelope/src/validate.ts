import type { Envelope } from "./envelope.js";
import { InvalidEnvelopeError } from "./errors.js";
import { isValidName } from "./names.js";

/** The largest log payload one envelope carries. Longer lines are split by the agent, and each part is marked. */
export const MAX_PAYLOAD_BYTES = 64 * 1024;
const MAX_TAGS = 64;
const MAX_TAG_KEY = 256;
const MAX_TAG_VALUE = 2048;
const MAX_NAME = 256;
const MAX_TEXT = 64 * 1024;
const MAX_METRICS = 128;
const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

function fail(path: string, message: string): never {
  throw new InvalidEnvelopeError(message, path);
}

function checkText(path: string, v: unknown, max: number, allowEmpty = true): void {
  if (typeof v !== "string") fail(path, "must be a string");
  if (!allowEmpty && v.length === 0) fail(path, "must not be empty");
  if (v.length > max) fail(path, `longer than ${max} characters`);
}

function checkI64(path: string, v: unknown): void {
  if (typeof v !== "bigint" || v < I64_MIN || v > I64_MAX) fail(path, "must be a 64-bit integer");
}

/**
 * Checks an envelope against the model and Tailrace's limits, and throws {@link InvalidEnvelopeError} naming the
 * first offending field. `path` prefixes field names in the message (e.g. `batch[3]`).
 */
export function validateEnvelope(e: Envelope, path = "envelope"): void {
  if (typeof e !== "object" || e === null) fail(path, "must be an object");
  checkI64(`${path}.timestamp`, e.timestamp);
  if (e.timestamp < 0n) fail(`${path}.timestamp`, "must not be negative");
  if (typeof e.sourceId !== "string" || !isValidName(e.sourceId)) {
    fail(`${path}.source_id`, "must be 1-128 of A-Z a-z 0-9 _ - starting with a letter or digit");
  }
  checkText(`${path}.instance_id`, e.instanceId, MAX_NAME);
  if (typeof e.tags !== "object" || e.tags === null) fail(`${path}.tags`, "must be a string map");
  let n = 0;
  for (const [k, v] of Object.entries(e.tags)) {
    if (++n > MAX_TAGS) fail(`${path}.tags`, `more than ${MAX_TAGS} tags`);
    if (k.length === 0 || k.length > MAX_TAG_KEY) fail(`${path}.tags`, `tag name must be 1-${MAX_TAG_KEY} characters`);
    checkText(`${path}.tags.${k}`, v, MAX_TAG_VALUE);
  }
  const tenant = e.tags.tenant;
  if (tenant === undefined || !isValidName(tenant)) fail(`${path}.tags.tenant`, "must be set to a valid tenant name");

  let set = 0;
  if (e.log !== undefined) {
    set++;
    if (!(e.log.payload instanceof Uint8Array)) fail(`${path}.log.payload`, "must be bytes");
    if (e.log.payload.length > MAX_PAYLOAD_BYTES) fail(`${path}.log.payload`, `longer than ${MAX_PAYLOAD_BYTES} bytes`);
    if (e.log.type !== "OUT" && e.log.type !== "ERR") fail(`${path}.log.type`, "must be OUT or ERR");
  }
  if (e.counter !== undefined) {
    set++;
    checkText(`${path}.counter.name`, e.counter.name, MAX_NAME, false);
    checkI64(`${path}.counter.delta`, e.counter.delta);
    if (typeof e.counter.total !== "bigint" || e.counter.total < 0n || e.counter.total > U64_MAX) {
      fail(`${path}.counter.total`, "must be an unsigned 64-bit integer");
    }
  }
  if (e.gauge !== undefined) {
    set++;
    const entries = Object.entries(e.gauge.metrics ?? {});
    if (entries.length === 0) fail(`${path}.gauge.metrics`, "must hold at least one metric");
    if (entries.length > MAX_METRICS) fail(`${path}.gauge.metrics`, `more than ${MAX_METRICS} metrics`);
    for (const [name, m] of entries) {
      if (name.length === 0 || name.length > MAX_NAME) fail(`${path}.gauge.metrics`, "metric names must be 1-256 characters");
      checkText(`${path}.gauge.metrics.${name}.unit`, m?.unit, MAX_NAME);
      if (typeof m.value !== "number" || !Number.isFinite(m.value)) fail(`${path}.gauge.metrics.${name}.value`, "must be a finite number");
    }
  }
  if (e.timer !== undefined) {
    set++;
    checkText(`${path}.timer.name`, e.timer.name, MAX_NAME, false);
    checkI64(`${path}.timer.start`, e.timer.start);
    checkI64(`${path}.timer.stop`, e.timer.stop);
  }
  if (e.event !== undefined) {
    set++;
    checkText(`${path}.event.title`, e.event.title, MAX_NAME, false);
    checkText(`${path}.event.body`, e.event.body, MAX_TEXT);
  }
  if (set !== 1) fail(path, `must carry exactly one of log, counter, gauge, timer or event (found ${set})`);
}
