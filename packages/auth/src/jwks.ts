import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify } from "jose";
import type { Principal } from "./claims.js";
import { principalOf } from "./claims.js";
import { UnauthorizedError } from "./errors.js";
import type { Verifier } from "./verify.js";
import { hs256Verifier } from "./verify.js";

export interface OidcOptions {
  /** Where the identity provider publishes its signing keys (TAILRACE_JWKS_URL). */
  jwksUrl: string;
  issuer?: string;
  audience?: string;
  clockToleranceSec?: number;
}

/**
 * Verifies RS256/ES256 tokens against a remote JWKS (cached, re-fetched on an unknown key id), checking issuer and
 * audience when configured, as an OIDC relying party does.
 */
export function jwksVerifier(o: OidcOptions): Verifier {
  const keys = createRemoteJWKSet(new URL(o.jwksUrl), { cooldownDuration: 30_000, timeoutDuration: 5000 });
  return {
    async verify(token): Promise<Principal> {
      if (!token) throw new UnauthorizedError("missing bearer token");
      try {
        const { payload } = await jwtVerify(token, keys, {
          algorithms: ["RS256", "ES256"],
          requiredClaims: ["exp"],
          clockTolerance: o.clockToleranceSec ?? 5,
          ...(o.issuer ? { issuer: o.issuer } : {}),
          ...(o.audience ? { audience: o.audience } : {}),
        });
        return principalOf(payload);
      } catch (err) {
        if (err instanceof UnauthorizedError) throw err;
        if (err instanceof errors.JWTExpired) throw new UnauthorizedError("token expired", { cause: err });
        if (err instanceof errors.JWTClaimValidationFailed)
          throw new UnauthorizedError(`token claim ${err.claim} is invalid`, { cause: err });
        if (err instanceof errors.JWKSNoMatchingKey) throw new UnauthorizedError("token signed by an unknown key", { cause: err });
        if (err instanceof errors.JWKSTimeout || (err as { code?: string }).code === "ERR_JOSE_GENERIC") {
          throw new UnauthorizedError("token keys could not be fetched", { cause: err });
        }
        throw new UnauthorizedError("token is malformed, forged or not acceptable", { cause: err });
      }
    },
  };
}

export interface AnyVerifierOptions {
  secret?: string;
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
}

/** HS256 with a shared secret, OIDC via JWKS, or both: the token's own `alg` picks which one checks it. */
export function verifierFor(o: AnyVerifierOptions): Verifier {
  const common = { ...(o.issuer ? { issuer: o.issuer } : {}), ...(o.audience ? { audience: o.audience } : {}) };
  const hs = o.secret ? hs256Verifier({ secret: o.secret, ...common }) : undefined;
  const oidc = o.jwksUrl ? jwksVerifier({ jwksUrl: o.jwksUrl, ...common }) : undefined;
  if (!hs && !oidc) throw new Error("no token verifier: set TAILRACE_JWT_SECRET or TAILRACE_JWKS_URL");
  return {
    async verify(token) {
      if (!token) throw new UnauthorizedError("missing bearer token");
      let alg: string | undefined;
      try {
        alg = decodeProtectedHeader(token).alg;
      } catch {
        throw new UnauthorizedError("token is malformed");
      }
      const v = alg === "HS256" ? hs : alg === "RS256" || alg === "ES256" ? oidc : undefined;
      if (!v) throw new UnauthorizedError(`token algorithm ${String(alg).slice(0, 16)} is not accepted`);
      return v.verify(token);
    },
  };
}
