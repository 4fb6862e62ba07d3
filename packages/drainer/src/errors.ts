/**
 * A drain binding URL that Tailrace will not accept. The message is user-facing (the drains API returns it in a 400),
 * so it says exactly what is wrong and never repeats the URL's user info.
 */
export class InvalidDrainUrlError extends Error {
  override name = "InvalidDrainUrlError";
}

/**
 * A drain whose address is loopback, private, link-local or otherwise internal, and not allowed by the operator.
 * Raised at bind time and again at every connect, so a DNS answer that changes after binding is caught too.
 */
export class DrainAddressRefusedError extends Error {
  override name = "DrainAddressRefusedError";
  constructor(
    /** The IP address that was refused. */
    readonly address: string,
    /** Why, in a few words, e.g. `private network (RFC 1918)`. */
    readonly reason: string,
    /** The drain's host name when the address came from resolving it. */
    readonly host?: string,
    options?: ErrorOptions,
  ) {
    const via = host !== undefined && host !== address ? ` (resolved from ${host})` : "";
    super(
      `drain address ${address}${via} refused: ${reason}; drains may not reach internal networks unless the operator allows them`,
      options,
    );
  }
}

/** A drain host name that DNS could not resolve to any address. */
export class DrainResolveError extends Error {
  override name = "DrainResolveError";
  constructor(
    readonly host: string,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`cannot resolve drain host ${host}: ${detail}`, options);
  }
}

/** An operator's allow list of CIDRs that does not parse. Raised at start-up, so the message names the bad entry. */
export class InvalidCidrError extends Error {
  override name = "InvalidCidrError";
  constructor(
    readonly entry: string,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`invalid CIDR ${JSON.stringify(entry)} in drain allow list: ${detail}`, options);
  }
}

/** Per-drain TLS material (CA, client certificate, key) that does not parse or does not fit together. User-facing. */
export class InvalidDrainTlsError extends Error {
  override name = "InvalidDrainTlsError";
}

/** The app already has as many drains as the operator allows. */
export class DrainLimitError extends Error {
  override name = "DrainLimitError";
  constructor(
    readonly limit: number,
    readonly scope: "app" | "tenant" = "app",
  ) {
    super(`this ${scope} already has ${limit} drains, the most allowed; remove one first`);
  }
}

/** The same URL is already bound to this app. */
export class DrainExistsError extends Error {
  override name = "DrainExistsError";
  constructor(readonly id: string) {
    super(`this URL is already bound to the app as drain ${id}`);
  }
}
