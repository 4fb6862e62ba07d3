import { InvalidNameError } from "./errors.js";

/**
 * The alphabet every tenant, app, source id, process type and instance id must use before it may become a NATS
 * subject token or a KV key. `.`, `*`, `>` and whitespace are outside it, so no name can ever widen a subscription
 * or cross into another tenant's subjects.
 */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

export function isValidName(value: string): boolean {
  return NAME.test(value);
}

/** Returns `value` if it is a valid name, and throws {@link InvalidNameError} naming `what` otherwise. */
export function checkName(what: string, value: string): string {
  if (typeof value !== "string" || !NAME.test(value)) throw new InvalidNameError(what, String(value));
  return value;
}
