import { errors, jwtVerify } from "jose";
import type { Principal } from "./claims.js";
import { principalOf } from "./claims.js";
import { UnauthorizedError } from "./errors.js";

export interface VerifierOptions {
  /** HS256 shared secret (TAILRACE_JWT_SECRET). */
  secret: string;
  issuer?: string;
  audience?: string;
  /** Allowed clock skew in seconds. */
  clockToleranceSec?: number;
}

export interface Verifier {
  verify(token: string | undefined): Promise<Principal>;
}

/** Pulls the token out of an `Authorization: Bearer …` header value. */
export function bearer(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1] : undefined;
}

/** An HS256 verifier. Tokens must carry `exp`; the reason a token fails is never echoed with the token itself. */
export function hs256Verifier(opts: VerifierOptions): Verifier {
  if (opts.secret.length < 16) throw new Error("the JWT secret must be at least 16 characters");
  const key = new TextEncoder().encode(opts.secret);
  return {
    async verify(token) {
      if (!token) throw new UnauthorizedError("missing bearer token");
      try {
        const { payload } = await jwtVerify(token, key, {
          algorithms: ["HS256"],
          requiredClaims: ["exp"],
          clockTolerance: opts.clockToleranceSec ?? 5,
          ...(opts.issuer ? { issuer: opts.issuer } : {}),
          ...(opts.audience ? { audience: opts.audience } : {}),
        });
        return principalOf(payload);
      } catch (err) {
        if (err instanceof UnauthorizedError) throw err;
        if (err instanceof errors.JWTExpired) throw new UnauthorizedError("token expired", { cause: err });
        if (err instanceof errors.JWSSignatureVerificationFailed) {
          throw new UnauthorizedError("token signature is invalid", { cause: err });
        }
        if (err instanceof errors.JWTClaimValidationFailed) {
          throw new UnauthorizedError(`token claim ${err.claim} is invalid`, { cause: err });
        }
        throw new UnauthorizedError("token is malformed or not acceptable", { cause: err });
      }
    },
  };
}
