import { type Logger, pino } from "pino";

export type { Logger };

/**
 * Paths pino blanks before a line is written. Tokens, secrets and passwords never reach a log; URLs that may carry
 * credentials go through {@link redactUrl} before they are logged at all.
 */
const REDACT = [
  "token",
  "*.token",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "*.headers.authorization",
  "req.headers.authorization",
  "secret",
  "*.secret",
  "jwtSecret",
  "*.jwtSecret",
  "password",
  "*.password",
  "pass",
  "*.pass",
];

export interface LoggerOptions {
  name: string;
  level?: string;
  /** Write to this fd; defaults to stderr so that commands keep stdout for their own output. */
  fd?: number;
  /** Write to this file instead (tests grep it for secrets). */
  file?: string;
}

export function createLogger(opts: LoggerOptions): Logger {
  return pino(
    {
      name: opts.name,
      level: opts.level ?? process.env.TAILRACE_LOG_LEVEL ?? "info",
      redact: { paths: REDACT, censor: "[redacted]" },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    opts.file ? pino.destination({ dest: opts.file, sync: true }) : pino.destination({ fd: opts.fd ?? 2, sync: false }),
  );
}

/**
 * Takes user info and secret-looking query parameters out of a URL, as Loggregator's anonymizedURL does.
 * Returns the input unchanged when it does not parse as a URL (so it is safe on any string).
 */
export function redactUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    // Unparseable: drop everything between // and the last @, over-redacting rather than leaking.
    return raw.replace(/\/\/\S*@/, "//");
  }
  u.username = "";
  u.password = "";
  for (const k of [...u.searchParams.keys()]) {
    if (/token|secret|key|pass|auth|sig/i.test(k)) u.searchParams.set(k, "redacted");
  }
  return u.toString();
}
