/**
 * The one interface every drain output implements (`syslog`, `syslog-tls`, `https`, `otlp+https`). A writer takes
 * what its drain's encoder made of the envelopes (RFC 5424 messages, OTLP records) in order, and calls `done` for
 * each `send` once its messages count as delivered, in the order sent. It retries on its own, forever, until closed:
 * loss is never the writer's decision, only the drain's retention's (or the receiver's, when it refuses for good).
 */
export interface WriterEvents {
  /** A delivery attempt failed and will be retried. `reason` is user-facing and free of credentials. */
  error(reason: string): void;
  /** A retry (reconnect or re-send) is about to happen. */
  retry(): void;
  /** The receiver refused `count` messages for good (an HTTP 4xx other than 429, OTLP partial success); they are dropped. */
  rejected(count: number, reason: string): void;
}

export interface DrainWriter<M = Buffer> {
  /** Queues messages without framing; never blocks. The caller bounds what is in flight. */
  send(msgs: M[], done: () => void): void;
  /** Waits up to `graceMs` for what is queued to be delivered, then closes. Undelivered messages get no `done`. */
  close(graceMs: number): Promise<void>;
}

/** What a batch became: what its writer takes, how many messages that holds (what `sent` counts), of how many envelopes. */
export interface Encoded<M> {
  items: M[];
  count: number;
  envelopes: number;
}

/**
 * A drain's output, picked by its URL's scheme (factory.ts): what a batch as it comes off NATS (the envelope codec's
 * wire form) becomes (none, one or several messages per envelope, as the drain's `drain-data` and `disable-metadata`
 * say), and the writer that delivers that. `encode` throws the codec's CodecError for a batch that does not decode.
 */
export interface Egress<M = unknown> {
  encode(data: Uint8Array): Encoded<M>;
  readonly writer: DrainWriter<M>;
}

/** Capped exponential backoff with jitter: each delay is drawn from [d/2, d], d doubling from `minMs` to `maxMs`. */
export class Backoff {
  private attempt = 0;
  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
  ) {}

  next(): number {
    const d = Math.min(this.maxMs, this.minMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return d / 2 + Math.random() * (d / 2);
  }

  reset(): void {
    this.attempt = 0;
  }
}

/** A sleep that `wake()` cuts short, so that closing a writer never waits out a long backoff. */
export class Sleeper {
  private wakeFn: (() => void) | undefined;
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wakeFn = undefined;
        resolve();
      }, ms);
      this.wakeFn = () => {
        clearTimeout(t);
        this.wakeFn = undefined;
        resolve();
      };
    });
  }
  wake(): void {
    this.wakeFn?.();
  }
}

/** A network error as a short user-facing reason. */
export function describeError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code === "string" && /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO|ALTNAME|HOSTNAME/.test(e.code)) {
    return `TLS: ${e.message} (${e.code})`;
  }
  return e?.message ?? String(err);
}
