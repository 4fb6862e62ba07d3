/** A request the local HTTP ingress refuses, with the status to answer. The message never quotes the body. */
export class HttpIngressError extends Error {
  override name = "HttpIngressError";
  constructor(
    readonly status: number,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
