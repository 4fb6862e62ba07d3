/** A mistake in how the command was called. Printed with a hint; exits 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The API answered with an error. Printed as is; exits 1. */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
