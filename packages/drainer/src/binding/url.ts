/**
 * Drain binding URLs: `syslog://host[:port]`, `syslog-tls://host[:port]`, `https://[user:pass@]host[:port]/path` and
 * `otlp+https://` (or, where the operator allows it, `otlp+http://`) `[user:pass@]host[:port][/base]`, with the query
 * parameters `drain-data` and `disable-metadata` as Cloud Foundry has them, and for OTLP `header-<name>=<value>`,
 * request headers such as API keys (issue 14). Header values are secrets like the user info: kept out of JSON and
 * inspect, masked by {@link anonymize}, never quoted in an error.
 *
 * Every rejection is an {@link InvalidDrainUrlError} whose message the drains API returns as is. Messages may quote
 * the scheme, the host and query parameters, which all lie after the last '@' of the authority; they never quote the
 * user info, the port or the path, where misplaced secrets end up.
 */
import { InvalidDrainUrlError } from "../errors.js";
import { anonymize } from "./anonymize.js";
import { checkHost } from "./host.js";

export { anonymize } from "./anonymize.js";

export type DrainScheme = "syslog" | "syslog-tls" | "https" | "otlp+https" | "otlp+http";
export type DrainData = "logs" | "metrics" | "all";

export interface DrainCredentials {
  readonly username: string;
  readonly password: string;
}

export interface DrainUrl {
  readonly scheme: DrainScheme;
  /** Lower-cased; an IPv6 address without its brackets. */
  readonly host: string;
  readonly port: number;
  /**
   * The request path for `https:` (`/` when none was given); for OTLP the base path, without a trailing `/`, that
   * `/v1/logs` and `/v1/metrics` are appended to (`""` when none was given); empty for the syslog schemes.
   */
  readonly path: string;
  readonly drainData: DrainData;
  readonly disableMetadata: boolean;
  /**
   * The decoded user info, for HTTP basic auth. Not enumerable, so JSON, pino and `util.inspect` leave it out.
   * Never print it.
   */
  readonly credentials?: DrainCredentials;
  /**
   * OTLP request headers from `header-<name>=<value>` parameters, names lower-cased. Not enumerable, like
   * `credentials`: the values are API keys. Never print them.
   */
  readonly headers?: Readonly<Record<string, string>>;
  /** The URL exactly as given, credentials and all, for storing the binding. Not enumerable, like `credentials`. */
  readonly raw: string;
  /** {@link anonymize}d `raw`: the only form to show in logs, LGR lines and API answers. */
  readonly anonymized: string;
}

export const MAX_DRAIN_URL_LENGTH = 2048;
export const DEFAULT_PORTS: Readonly<Record<DrainScheme, number>> = {
  syslog: 514,
  "syslog-tls": 6514,
  https: 443,
  "otlp+https": 443,
  "otlp+http": 80,
};

export interface ParseOptions {
  /** TAILRACE_DRAIN_ALLOW_PLAIN_OTLP: accept `otlp+http://` (OTLP in clear text). */
  allowPlainOtlp?: boolean;
}

const SCHEMES = "syslog://, syslog-tls://, https:// or otlp+https://";
const KNOWN: ReadonlySet<string> = new Set<DrainScheme>(["syslog", "syslog-tls", "https", "otlp+https", "otlp+http"]);
const HEADER_PREFIX = "header-";
/** RFC 9110 token characters: what a header name may hold. */
const TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/;
/** Headers the writer sets itself, or that would change the framing of the request. */
const OWN_HEADERS: ReadonlySet<string> = new Set([
  "host",
  "content-type",
  "content-encoding",
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "te",
  "trailer",
  "upgrade",
  "expect",
  "user-agent",
]);
const MAX_HEADERS = 16;
/** Paths that name a signal, which an OTLP drain appends itself. */
const SIGNAL_PATH = /\/v1\/(?:logs|metrics|traces)\/?$/;
const PATH = /^(?:\/(?:[A-Za-z0-9\-._~!$&'()*+,;=:]|%[0-9A-Fa-f]{2})*)*$/;
const PARAM_NAME = /^[A-Za-z0-9._~-]{1,64}$/;

function fail(message: string): never {
  throw new InvalidDrainUrlError(message);
}

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return fail(`${what} has a malformed percent-encoding`);
  }
}

export function isOtlp(scheme: DrainScheme): scheme is "otlp+https" | "otlp+http" {
  return scheme === "otlp+https" || scheme === "otlp+http";
}

function parseScheme(raw: string, opts: ParseOptions): { scheme: DrainScheme; rest: string } {
  const sep = raw.indexOf("://");
  if (sep < 0) fail(`drain URL must start with ${SCHEMES}`);
  const scheme = raw.slice(0, sep).toLowerCase();
  if (scheme === "otlp+http" && !opts.allowPlainOtlp) {
    fail("plain otlp+http:// drains are not allowed on this platform (TAILRACE_DRAIN_ALLOW_PLAIN_OTLP); use otlp+https://");
  }
  if (KNOWN.has(scheme)) return { scheme: scheme as DrainScheme, rest: raw.slice(sep + 3) };
  if (scheme === "http") fail("plain http:// drains are not supported; use https://");
  if (scheme === "otlp" || scheme === "otlp+grpc") fail(`unsupported scheme "${scheme}": OTLP drains use OTLP/HTTP, otlp+https://`);
  if (/^[a-z][a-z0-9+.-]{0,31}$/.test(scheme)) fail(`unsupported scheme "${scheme}": use ${SCHEMES}`);
  return fail(`drain URL must start with ${SCHEMES}`);
}

function parseCredentials(userinfo: string | undefined): DrainCredentials | undefined {
  if (userinfo === undefined || userinfo === "") return undefined;
  const colon = userinfo.indexOf(":");
  const username = decode(colon < 0 ? userinfo : userinfo.slice(0, colon), "user name");
  const password = decode(colon < 0 ? "" : userinfo.slice(colon + 1), "password");
  return { username, password };
}

function parsePort(text: string | undefined, scheme: DrainScheme): number {
  const fallback = DEFAULT_PORTS[scheme];
  if (text === undefined) return fallback;
  if (text === "") fail(`port is empty; leave out the ':' to use the default port ${fallback}`);
  const port = /^[0-9]{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!(port >= 1 && port <= 65535)) fail("port must be a whole number from 1 to 65535");
  return port;
}

function splitHostPort(hostport: string): { hostText: string; portText: string | undefined } {
  if (hostport.startsWith("[")) {
    const close = hostport.indexOf("]");
    if (close < 0) fail("IPv6 address is missing its closing ']'");
    const after = hostport.slice(close + 1);
    if (after !== "" && !after.startsWith(":")) fail("only ':port' may follow a bracketed IPv6 address");
    return { hostText: hostport.slice(0, close + 1), portText: after === "" ? undefined : after.slice(1) };
  }
  const colon = hostport.indexOf(":");
  if (colon >= 0 && hostport.indexOf(":", colon + 1) >= 0) fail("IPv6 addresses must be in brackets, e.g. syslog://[2001:db8::1]:514");
  return colon < 0
    ? { hostText: hostport, portText: undefined }
    : { hostText: hostport.slice(0, colon), portText: hostport.slice(colon + 1) };
}

function parsePath(text: string, scheme: DrainScheme): string {
  if (scheme !== "https" && !isOtlp(scheme)) {
    if (text !== "" && text !== "/") fail(`${scheme} drains take no path after the host and port`);
    return "";
  }
  if (!PATH.test(text)) {
    const bad = [...text].find((c) => !/[A-Za-z0-9\-._~!$&'()*+,;=:/%]/.test(c));
    fail(
      bad === undefined ? "path has a malformed percent-encoding" : `path contains ${JSON.stringify(bad)}, which must be percent-encoded`,
    );
  }
  if (!isOtlp(scheme)) return text === "" ? "/" : text;
  if (SIGNAL_PATH.test(text)) {
    fail("the path of an OTLP drain is the endpoint's base (e.g. /otlp, or none): /v1/logs and /v1/metrics are appended to it");
  }
  return text.replace(/\/+$/, "");
}

interface Query {
  drainData: DrainData;
  disableMetadata: boolean;
  headers: Record<string, string>;
}

/** One `header-<name>=<value>` parameter into `headers`; the value is never quoted in an error. */
function addHeader(headers: Record<string, string>, param: string, value: string | undefined, scheme: DrainScheme): void {
  if (!isOtlp(scheme)) fail("header-* parameters apply to otlp+https:// drains only");
  const name = param.slice(HEADER_PREFIX.length).toLowerCase();
  if (!TOKEN.test(name)) fail("a header-* parameter must name a header: letters, digits and - after header-");
  if (OWN_HEADERS.has(name)) fail(`header-${name}: the drain sets that header itself`);
  if (Object.hasOwn(headers, name)) fail(`header-${name} is given more than once`);
  if (value === undefined || value === "") fail(`header-${name} needs a value (header-${name}=...)`);
  if (/[^\x20-\x7e\t]/.test(value)) fail(`header-${name}: the value may hold only printable ASCII (percent-encode it once, not twice)`);
  if (Object.keys(headers).length >= MAX_HEADERS) fail(`at most ${MAX_HEADERS} header-* parameters`);
  headers[name] = value;
}

function parseQuery(query: string | undefined, scheme: DrainScheme): Query {
  let drainData: DrainData | undefined;
  let disableMetadata: boolean | undefined;
  const headers: Record<string, string> = Object.create(null);
  for (const param of query === undefined ? [] : query.split("&")) {
    if (param === "") continue;
    const eq = param.indexOf("=");
    const name = decode(eq < 0 ? param : param.slice(0, eq), "query");
    const value = eq < 0 ? undefined : decode(param.slice(eq + 1), "query");
    if (name === "drain-data") {
      if (drainData !== undefined) fail("drain-data is given more than once");
      if (value !== "logs" && value !== "metrics" && value !== "all") fail("drain-data must be logs, metrics or all");
      drainData = value;
    } else if (name === "disable-metadata") {
      if (disableMetadata !== undefined) fail("disable-metadata is given more than once");
      if (value !== "true" && value !== "false") fail("disable-metadata must be true or false");
      disableMetadata = value === "true";
    } else if (name.toLowerCase().startsWith(HEADER_PREFIX)) {
      addHeader(headers, name, value, scheme);
    } else {
      const quoted = PARAM_NAME.test(name) ? ` "${name}"` : "";
      const otlp = isOtlp(scheme) ? ", disable-metadata and header-*" : " and disable-metadata";
      fail(`unknown query parameter${quoted}; drain URLs accept only drain-data${otlp}`);
    }
  }
  return { drainData: drainData ?? "logs", disableMetadata: disableMetadata ?? false, headers };
}

/** The decoded values of `header-*` parameters, to keep out of error messages whatever goes wrong. */
function headerValues(tail: string): string[] {
  const q = tail.indexOf("?");
  if (q < 0) return [];
  return tail
    .slice(q + 1)
    .split("&")
    .filter((p) => p.toLowerCase().startsWith(HEADER_PREFIX) && p.includes("="))
    .flatMap((p) => {
      const v = p.slice(p.indexOf("=") + 1);
      try {
        return [v, decodeURIComponent(v)];
      } catch {
        return [v];
      }
    });
}

/**
 * Runs `parse`, taking the credentials out of any error it raises. The messages quote only what follows the user
 * info, but a user who pastes the password into the host or a parameter name as well should not see it echoed
 * into a log. Very short strings are left alone: blanking "a" everywhere would make the message unreadable.
 */
function withoutSecrets<T>(secrets: (string | undefined)[], parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (!(err instanceof InvalidDrainUrlError)) throw err;
    let message = err.message;
    for (const s of secrets) if (s !== undefined && s.length >= 4) message = message.split(s).join("***");
    if (message === err.message) throw err;
    throw new InvalidDrainUrlError(message);
  }
}

/** Validates a drain binding URL. Throws {@link InvalidDrainUrlError} saying what is wrong. */
export function parseDrainUrl(raw: string, opts: ParseOptions = {}): DrainUrl {
  if (typeof raw !== "string") fail("drain URL must be a string");
  if (raw === "") fail("drain URL is empty");
  if (raw.length > MAX_DRAIN_URL_LENGTH) fail(`drain URL is ${raw.length} characters long; the limit is ${MAX_DRAIN_URL_LENGTH}`);
  const odd = /[^\x21-\x7e]/.exec(raw)?.[0];
  if (odd !== undefined) {
    fail(
      odd.charCodeAt(0) > 0x7f
        ? "drain URL contains non-ASCII characters; percent-encode them, and write international host names in punycode (xn--)"
        : "drain URL contains whitespace or control characters; percent-encode them",
    );
  }
  if (raw.includes("#")) fail("drain URL may not have a fragment (#...)");

  const { scheme, rest } = parseScheme(raw, opts);
  const authorityEnd = rest.search(/[/?]/);
  const authority = authorityEnd < 0 ? rest : rest.slice(0, authorityEnd);
  const tail = authorityEnd < 0 ? "" : rest.slice(authorityEnd);
  // An '@' past the authority means the user info holds an unescaped '/' or '?', or the path an '@'. Either way the
  // split is ambiguous, and guessing wrong would quote part of a password back as a "host" or a "parameter".
  if (tail.includes("@")) {
    fail("'@' may only separate the user info from the host; percent-encode '@', '/' and '?' in the user name, password and path");
  }
  const at = authority.lastIndexOf("@");
  const userinfo = at < 0 ? undefined : authority.slice(0, at);
  const credentials = parseCredentials(userinfo);
  const secrets = [userinfo, credentials?.username, credentials?.password, ...headerValues(tail)];
  let headers: Record<string, string> = {};
  const url = withoutSecrets(secrets, () => {
    const { hostText, portText } = splitHostPort(authority.slice(at + 1));
    const host = checkHost(hostText);
    if ("error" in host) fail(host.error);
    const port = parsePort(portText, scheme);
    const q = tail.indexOf("?");
    const path = parsePath(q < 0 ? tail : tail.slice(0, q), scheme);
    const query = parseQuery(q < 0 ? undefined : tail.slice(q + 1), scheme);
    const { drainData, disableMetadata } = query;
    headers = query.headers;
    if (credentials && Object.hasOwn(headers, "authorization")) fail("give either user info or header-authorization, not both");
    return { scheme, host: host.host, port, path, drainData, disableMetadata, anonymized: anonymize(raw) };
  });
  Object.defineProperty(url, "raw", { value: raw, enumerable: false });
  if (credentials) Object.defineProperty(url, "credentials", { value: Object.freeze(credentials), enumerable: false });
  if (Object.keys(headers).length > 0) Object.defineProperty(url, "headers", { value: Object.freeze({ ...headers }), enumerable: false });
  return Object.freeze(url) as DrainUrl;
}
