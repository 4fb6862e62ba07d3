/**
 * A syslog message that does not follow RFC 5424 or the RFC 3164 shape we accept. The message names the rule and
 * the byte offset only, never the offending text, because syslog payloads routinely carry secrets.
 */
export class SyslogParseError extends Error {
  override name = "SyslogParseError";
  constructor(
    /** What was wrong, e.g. `PRI has a leading zero`. */
    readonly reason: string,
    /** The byte offset in the message where parsing stopped. */
    readonly offset: number,
    options?: ErrorOptions,
  ) {
    super(`${reason} at byte ${offset}`, options);
  }
}

/** A TCP byte stream that breaks RFC 6587 framing. The framer has already resynchronised when this is reported. */
export class SyslogFramingError extends Error {
  override name = "SyslogFramingError";
  constructor(
    readonly reason: string,
    /** The offset in the whole stream (bytes pushed so far) where the problem was found. */
    readonly offset: number,
    options?: ErrorOptions,
  ) {
    super(`${reason} at stream byte ${offset}`, options);
  }
}
