/**
 * Fuzzing the token claims (issue 8): a verified token's payload is still someone's JSON. principalOf only ever
 * returns a Principal whose tenants are valid names, or throws UnauthorizedError (401). `node bench/fuzz.mjs` runs
 * the same properties for longer (FUZZ_RUNS).
 */
import fc from "fast-check";
import type { JWTPayload } from "jose";
import { describe, expect, it } from "vitest";
import { type Principal, principalOf } from "./claims.js";
import { UnauthorizedError } from "./errors.js";
import { SCOPES } from "./scopes.js";

const RUNS = { numRuns: Number(process.env.FUZZ_RUNS) || 500 };
const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

function outcome(p: JWTPayload): Principal | UnauthorizedError {
  try {
    return principalOf(p);
  } catch (err) {
    if (err instanceof UnauthorizedError) return err;
    throw err;
  }
}

/** Names near the alphabet's edges: the fence characters, whitespace, length 128/129, non-ASCII. */
const nearName = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_-]{0,20}$/),
  fc.constantFrom("a.b", "*", ">", "a b", "a\tb", "a\nb", "", "-a", "_a", "a*", "a>", "ä", "a".repeat(128), "a".repeat(129), "tr.data.>"),
  fc.string({ unit: "binary", maxLength: 12 }),
);
const claim = fc.oneof(nearName, fc.array(nearName, { maxLength: 4 }), fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined));
const scope = fc.oneof(
  fc.array(fc.constantFrom(...SCOPES, "logs.admin ", "LOGS.ADMIN", "admin", ""), { maxLength: 4 }).map((xs) => xs.join(" ")),
  fc.array(fc.constantFrom(...SCOPES, "x"), { maxLength: 3 }),
  fc.jsonValue({ maxDepth: 1 }),
  fc.constant(undefined),
);

describe("token claims fuzz", () => {
  it("claims fuzz - any payload gives a principal with valid tenants, or an UnauthorizedError", () => {
    const payload = fc.record({ tenant: claim, tenants: claim, scope, sub: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: [] });
    fc.assert(
      fc.property(payload, (p) => {
        const r = outcome(p as JWTPayload);
        if (r instanceof UnauthorizedError) return;
        for (const t of r.tenants) expect(t).toMatch(NAME);
        expect(new Set(r.tenants).size).toBe(r.tenants.length);
        for (const s of r.scopes) expect(SCOPES).toContain(s);
        // No tenant and no admin scope is never a principal.
        expect(r.tenants.length > 0 || r.scopes.has("logs.admin")).toBe(true);
        expect(typeof r.subject).toBe("string");
      }),
      RUNS,
    );
  });

  it("claims fuzz - a name with `.`, `*`, `>` or whitespace anywhere in the tenant claims refuses the token", () => {
    const bad = fc
      .tuple(
        fc.stringMatching(/^[A-Za-z0-9_-]{0,6}$/),
        fc.constantFrom(".", "*", ">", " ", "\t", "\n", "\u00a0"),
        fc.stringMatching(/^[A-Za-z0-9_-]{0,6}$/),
      )
      .map(([a, c, b]) => `${a}${c}${b}`);
    const good = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_-]{0,10}$/);
    fc.assert(
      fc.property(fc.array(good, { maxLength: 3 }), bad, fc.boolean(), (goods, b, inList) => {
        const p = inList ? { tenants: [...goods, b], scope: "logs.read logs.admin" } : { tenant: b, tenants: goods, scope: "logs.admin" };
        expect(outcome(p)).toBeInstanceOf(UnauthorizedError);
      }),
      RUNS,
    );
  });

  it("claims fuzz - valid claims round-trip: the tenants (once each) and the known scopes", () => {
    const good = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/);
    fc.assert(
      fc.property(
        fc.option(good, { nil: undefined }),
        fc.array(good, { minLength: 1, maxLength: 4 }),
        fc.subarray([...SCOPES]),
        (one, many, scopes) => {
          const r = principalOf({ ...(one ? { tenant: one } : {}), tenants: many, scope: scopes.join(" "), sub: "me" });
          expect(r.tenants).toEqual([...new Set([...(one ? [one] : []), ...many])]);
          expect([...r.scopes].sort()).toEqual([...scopes].sort());
          expect(r.subject).toBe("me");
        },
      ),
      RUNS,
    );
  });
});
