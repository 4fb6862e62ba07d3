export type { Principal } from "./claims.js";
export { principalOf } from "./claims.js";
export { ForbiddenError, UnauthorizedError } from "./errors.js";
export type { MintOptions } from "./mint.js";
export { mintToken } from "./mint.js";
export type { Scope } from "./scopes.js";
export { SCOPES } from "./scopes.js";
export type { Verifier, VerifierOptions } from "./verify.js";
export { bearer, hs256Verifier } from "./verify.js";
