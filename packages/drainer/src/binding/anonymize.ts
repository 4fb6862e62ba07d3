/**
 * Loggregator's anonymizedURL: the form of a drain URL that may appear in LGR lines, logs and API answers. User info
 * is removed and secret-looking query parameters are masked.
 *
 * It works on any string, not only on URLs that parse, because the strings most in need of it are the malformed ones
 * users paste: `https://user:pa/ss@host` has a `/` in its password, so a URL parser sees the authority `user:pa` and
 * would leave `ss` in place (runtime's `redactUrl` returns such a string unchanged).
 */

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;
const SECRET_PARAM = /token|secret|key|pass|pwd|auth|sig|credential|session/i;
/** What replaces a masked value, and the user info when it cannot be told apart from the path. */
export const REDACTED = "redacted";

function isSecretName(name: string): boolean {
  let decoded = name;
  try {
    decoded = decodeURIComponent(name.replace(/\+/g, " "));
  } catch {
    // A malformed escape: judge the name as written.
  }
  return SECRET_PARAM.test(decoded) || /^header-/i.test(decoded);
}

function maskParam(param: string): string {
  const eq = param.indexOf("=");
  const name = eq < 0 ? param : param.slice(0, eq);
  return isSecretName(name) ? `${name}=${REDACTED}` : param;
}

export function anonymize(raw: string): string {
  const s = String(raw);
  const prefix = SCHEME.exec(s)?.[0] ?? "";
  let rest = s.slice(prefix.length);
  // User info runs to the last '@'. When that '@' lies beyond the first '/', '?' or '#', either the user info holds
  // one of those characters unescaped or the '@' belongs to the path; both are cut, and the marker says so.
  const at = rest.lastIndexOf("@");
  if (at >= 0) {
    const authorityEnd = rest.search(/[/?#]/);
    const inAuthority = authorityEnd < 0 || at < authorityEnd;
    rest = (inAuthority ? "" : `${REDACTED}@`) + rest.slice(at + 1);
  }
  // Fragments can carry tokens too (`#access_token=...`), and a drain never needs one.
  const hash = rest.indexOf("#");
  if (hash >= 0) rest = rest.slice(0, hash);
  const q = rest.indexOf("?");
  if (q >= 0)
    rest = `${rest.slice(0, q + 1)}${rest
      .slice(q + 1)
      .split("&")
      .map(maskParam)
      .join("&")}`;
  // The result goes into log lines: no control characters or whitespace that could forge a line or a field.
  return (prefix + rest).replace(/[\x00-\x20\x7f]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, "0").toUpperCase()}`);
}
