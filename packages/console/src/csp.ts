/**
 * The Content-Security-Policy of the console: scripts, styles and images only from the doppler itself, no inline
 * script or style, no plugins, no framing, no form posts, and Trusted Types so no string can become HTML.
 *
 * `connect-src 'self'` covers ws:/wss: to the same host in CSP Level 3 browsers but not in all older ones, so the
 * websocket origins are listed too, built from the Host header. A Host that is not a plain host[:port] is left out
 * (the policy then falls back to 'self') so a forged header cannot add directives.
 */

const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

export function isPlainHost(host: string | undefined): host is string {
  return host !== undefined && host.length <= 261 && HOST.test(host);
}

export function contentSecurityPolicy(host: string | undefined): string {
  const connect = isPlainHost(host) ? `'self' ws://${host} wss://${host}` : "'self'";
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    `connect-src ${connect}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
  ].join("; ");
}
