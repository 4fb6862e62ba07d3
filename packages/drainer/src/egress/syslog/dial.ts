/**
 * Dialers for `syslog://` (TCP) and `syslog-tls://`. Both connect by name through the guarded lookup, so the SSRF
 * check runs at every connect and TLS verifies the certificate against the drain's host name (SNI included).
 * TLS trusts the system CAs plus the drain's own CA when it has one, and presents its client certificate for mTLS.
 * Certificate errors fail the connect and are reported; they are never ignored.
 */
import { connect as netConnect, type Socket } from "node:net";
import { rootCertificates, connect as tlsConnect } from "node:tls";
import type { AddressGuard } from "../../binding/guard.js";
import type { DrainTls } from "../../binding/tls.js";
import type { DrainUrl } from "../../binding/url.js";
import { checkLiteral, guardedLookup } from "../lookup.js";
import type { Dial } from "./socket.js";

const CONNECT_TIMEOUT_MS = 10_000;

function settle(sock: Socket, event: "connect" | "secureConnect"): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => sock.destroy(new Error(`connect timed out after ${CONNECT_TIMEOUT_MS / 1000} s`)), CONNECT_TIMEOUT_MS);
    sock.once(event, () => {
      clearTimeout(timer);
      sock.removeAllListeners("error");
      resolve(sock);
    });
    sock.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

export function tcpDial(url: DrainUrl, guard: AddressGuard): Dial {
  return async () => {
    checkLiteral(guard, url.host);
    return settle(netConnect({ host: url.host, port: url.port, lookup: guardedLookup(guard) }), "connect");
  };
}

export function tlsDial(url: DrainUrl, guard: AddressGuard, tls: DrainTls | undefined): Dial {
  const ca = tls?.ca ? [...rootCertificates, tls.ca] : undefined;
  return async () => {
    checkLiteral(guard, url.host);
    const sock = tlsConnect({
      host: url.host,
      port: url.port,
      lookup: guardedLookup(guard),
      ...(ca ? { ca } : {}),
      ...(tls?.cert && tls.key ? { cert: tls.cert, key: tls.key } : {}),
      rejectUnauthorized: true,
    });
    return settle(sock, "secureConnect");
  };
}
