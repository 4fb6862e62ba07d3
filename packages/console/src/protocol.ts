/**
 * How a browser hands its bearer token to the websocket API. Browsers cannot set headers on a websocket, and a token
 * in a URL ends up in logs and history, so the page offers two subprotocols, `tailrace.bearer` and then the token:
 *
 *   new WebSocket(url, ["tailrace.bearer", token])  →  Sec-WebSocket-Protocol: tailrace.bearer, <token>
 *
 * A JWT (base64url parts and dots) is a valid protocol token (RFC 6455 §4.1, RFC 7230 tchar). The server reads the
 * token from the element after the marker, and answers with the marker alone: a server must echo one offered
 * protocol or the browser fails the connection, and echoing the token would copy it into response headers.
 */

export const BEARER_PROTOCOL = "tailrace.bearer";

/** The token offered after `tailrace.bearer` in a `Sec-WebSocket-Protocol` header, or undefined. */
export function bearerFromProtocols(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  const list = (Array.isArray(header) ? header.join(",") : header)
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
  const at = list.indexOf(BEARER_PROTOCOL);
  if (at < 0) return undefined;
  const token = list[at + 1];
  return token && token !== BEARER_PROTOCOL ? token : undefined;
}

/** For ws's `handleProtocols`: picks the marker, never the token; no protocol when the marker was not offered. */
export function selectProtocol(protocols: ReadonlySet<string>): string | false {
  return protocols.has(BEARER_PROTOCOL) ? BEARER_PROTOCOL : false;
}
