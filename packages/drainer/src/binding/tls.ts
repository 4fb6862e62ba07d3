/**
 * Optional per-drain TLS material, given with the binding: a CA bundle to trust besides the system CAs, and a client
 * certificate and key for receivers that want mutual TLS. PEM text, checked at bind time so a typo is a 400, not a
 * drain that fails later. The key is a secret like the URL's password: stored, never listed or logged.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { InvalidDrainTlsError } from "../errors.js";

export interface DrainTls {
  /** PEM CA certificates trusted in addition to the system CAs. */
  ca?: string;
  /** PEM client certificate (chain) for mutual TLS. */
  cert?: string;
  /** PEM private key of `cert`. */
  key?: string;
}

const MAX_PEM = 64 * 1024;
const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function certs(pem: string, what: string): X509Certificate[] {
  const blocks = pem.match(PEM_CERT) ?? [];
  if (blocks.length === 0) throw new InvalidDrainTlsError(`${what} holds no PEM certificate`);
  return blocks.map((b, i) => {
    try {
      return new X509Certificate(b);
    } catch {
      throw new InvalidDrainTlsError(`${what}: certificate ${i + 1} does not parse`);
    }
  });
}

/** Checks what a binding request gave; returns only the fields that were set. */
export function checkDrainTls(raw: unknown): DrainTls | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== "object" || Array.isArray(raw)) throw new InvalidDrainTlsError("tls must be an object with ca, cert and key");
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!["ca", "cert", "key"].includes(k)) throw new InvalidDrainTlsError(`unknown tls field ${JSON.stringify(k.slice(0, 32))}`);
  }
  const out: DrainTls = {};
  for (const k of ["ca", "cert", "key"] as const) {
    const v = o[k];
    if (v === undefined) continue;
    if (typeof v !== "string" || v.length > MAX_PEM) throw new InvalidDrainTlsError(`tls.${k} must be PEM text of at most 64 KiB`);
    out[k] = v;
  }
  if (out.ca) certs(out.ca, "tls.ca");
  if ((out.cert === undefined) !== (out.key === undefined)) throw new InvalidDrainTlsError("tls.cert and tls.key go together");
  if (out.cert && out.key) {
    const [leaf] = certs(out.cert, "tls.cert");
    let key: ReturnType<typeof createPrivateKey>;
    try {
      key = createPrivateKey(out.key);
    } catch {
      // Never quote the key, not even a part of it.
      throw new InvalidDrainTlsError("tls.key is not a PEM private key (or it is encrypted)");
    }
    if (!leaf?.checkPrivateKey(key)) throw new InvalidDrainTlsError("tls.key does not belong to the first certificate in tls.cert");
  }
  return Object.keys(out).length ? out : undefined;
}

/** What an API listing may say about a drain's TLS material. */
export function describeTls(t: DrainTls | undefined): { ca: boolean; client_cert?: string } | undefined {
  if (!t) return undefined;
  let subject: string | undefined;
  if (t.cert) {
    try {
      subject = certs(t.cert, "cert")[0]?.subject.replace(/\n/g, ", ");
    } catch {}
  }
  return { ca: t.ca !== undefined, ...(subject !== undefined ? { client_cert: subject } : {}) };
}
