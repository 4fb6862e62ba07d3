/** No token, or one that is malformed, forged, expired or otherwise not acceptable. Maps to HTTP 401. */
export class UnauthorizedError extends Error {
  override name = "UnauthorizedError";
}

/** A valid token without the scope an operation needs. Maps to HTTP 403. */
export class ForbiddenError extends Error {
  override name = "ForbiddenError";
}
