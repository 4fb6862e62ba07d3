/** One SD-ELEMENT of RFC 5424 STRUCTURED-DATA. Params are a list, not a map: a name may repeat (RFC 5424 6.3.3). */
export type SdElement = { id: string; params: Array<{ name: string; value: string }> };

/** A parsed syslog message, RFC 5424 or RFC 3164 alike. Absent and NILVALUE (`-`) fields are `undefined`. */
export type SyslogMessage = {
  format: "rfc5424" | "rfc3164";
  /** 0..23, from PRI. */
  facility: number;
  /** 0..7, from PRI. */
  severity: number;
  /** Millisecond precision; see `timestampNs` for the full fraction. */
  timestamp?: Date;
  /** Nanoseconds since the Unix epoch, keeping every fraction digit the sender wrote. */
  timestampNs?: bigint;
  hostname?: string;
  /** APP-NAME in RFC 5424; the TAG in RFC 3164. */
  appName?: string;
  /** PROCID in RFC 5424; the `[pid]` after the TAG in RFC 3164. */
  procId?: string;
  msgId?: string;
  /** Empty for NILVALUE and for RFC 3164. */
  structuredData: SdElement[];
  /** MSG as sent, minus a leading UTF-8 BOM. Bytes, because RFC 5424 allows MSG-ANY (any octets). */
  message: Buffer;
};
