/** An envelope, or a batch of them, that does not hold to the Loggregator v2 model. */
export class InvalidEnvelopeError extends Error {
  override name = "InvalidEnvelopeError";
  constructor(
    message: string,
    /** The dotted path of the offending field, e.g. `batch[3].log.payload`. */
    readonly field?: string,
    options?: ErrorOptions,
  ) {
    super(field ? `${field}: ${message}` : message, options);
  }
}

/** Bytes on the NATS hop that the batch codec cannot read. */
export class CodecError extends Error {
  override name = "CodecError";
}

/** A tenant, app or other name that may not become a NATS subject token. */
export class InvalidNameError extends Error {
  override name = "InvalidNameError";
  constructor(
    readonly what: string,
    readonly value: string,
  ) {
    super(`invalid ${what} ${JSON.stringify(value.slice(0, 80))}: use 1-128 of A-Z a-z 0-9 _ - and start with a letter or digit`);
  }
}
