import { readFileSync } from "node:fs";
import type { SecureContextOptions } from "node:tls";

/**
 * Server TLS from files, for every Tailrace listener: TLS 1.2 at least, and only forward-secret AEAD suites for 1.2
 * (1.3's suites are all strong).
 */
export interface ServerTls extends SecureContextOptions {
  minVersion: "TLSv1.2";
}

const TLS12_CIPHERS = [
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
].join(":");

export class TlsConfigError extends Error {
  override name = "TlsConfigError";
}

/** Reads a certificate chain and key; undefined when neither is configured. Throws when only one is, or unreadable. */
export function serverTls(certFile: string, keyFile: string): ServerTls | undefined {
  if (!certFile && !keyFile) return undefined;
  if (!certFile || !keyFile) throw new TlsConfigError("TLS needs both TAILRACE_TLS_CERT and TAILRACE_TLS_KEY");
  try {
    return {
      cert: readFileSync(certFile),
      key: readFileSync(keyFile),
      minVersion: "TLSv1.2",
      ciphers: TLS12_CIPHERS,
      honorCipherOrder: true,
    };
  } catch (err) {
    throw new TlsConfigError(`cannot read TLS files: ${(err as Error).message}`, { cause: err });
  }
}
