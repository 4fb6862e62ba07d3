/**
 * Riding out a JetStream election. While a cluster moves a leader (a node died or froze), API requests time out, find
 * no responder, or get "JetStream system temporarily unavailable" for a few seconds. A read that fails then is a
 * pause to a user, not an outage: retry it with jittered backoff for a bounded time, and only then give up with an
 * error that says NATS is unavailable (issue 12: `--recent` answers throughout a node's loss, at most pausing).
 */

import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";

/**
 * How long one JetStream call that a reader makes (a consumer for a tail or a `--recent` read) waits for its answer.
 * After a node dies, nats-server 2.9 keeps placing about a third of new R1 consumers on it for at least 45 s (seen on
 * this machine: 3-7 of 12 creations timed out in every 6 s window after a SIGKILL), and such a request is never
 * answered. The connection's own 5 s suits set-up; a reader gives up after 2 s and asks again.
 */
export const QUICK_TIMEOUT_MS = 2000;
const quickManagers = new WeakMap<NatsConnection, Promise<JetStreamManager>>();

/** A JetStream manager on `nc` whose calls time out after {@link QUICK_TIMEOUT_MS}; one per connection. */
export function quickJetStream(nc: NatsConnection): Promise<JetStreamManager> {
  let m = quickManagers.get(nc);
  if (!m) {
    m = jetstreamManager(nc, { timeout: QUICK_TIMEOUT_MS, checkAPI: false });
    quickManagers.set(nc, m);
  }
  return m;
}

/** JetStream's code for "JetStream system temporarily unavailable" (no meta or stream leader right now). */
const TEMPORARILY_UNAVAILABLE = 10008;
const TRANSIENT_NAMES = new Set(["TimeoutError", "NoRespondersError", "ConnectionError", "RequestError"]);
const BACKOFF_MS = [50, 100, 250, 500, 1000];

/** Thrown once a call kept failing for the whole budget; `cause` is the last failure. */
export class NatsUnavailableError extends Error {
  override readonly name = "NatsUnavailableError";
  constructor(
    readonly what: string,
    readonly waitedMs: number,
    options?: ErrorOptions,
  ) {
    super(`NATS did not answer ${what} for ${Math.round(waitedMs)} ms (a leader election, or NATS is down)`, options);
  }
}

/** Whether `err` (or anything in its `cause` chain) is a failure that a leader election or reconnect explains. */
export function isTransientNatsError(err: unknown): boolean {
  for (
    let e = err as { name?: string; code?: unknown; status?: unknown; message?: string; cause?: unknown } | undefined, depth = 0;
    e && depth < 5;
    depth++
  ) {
    if (e.name && TRANSIENT_NAMES.has(e.name)) return true;
    if (e.code === TEMPORARILY_UNAVAILABLE || e.status === 503) return true;
    if (typeof e.message === "string" && /temporarily unavailable|no responders|timeout|disconnect/i.test(e.message)) return true;
    e = e.cause as typeof e;
  }
  return false;
}

/**
 * Runs `fn` until it succeeds, retrying transient NATS failures for up to `budgetMs`. A failure that is not transient
 * (a stream that does not exist, a permission) is thrown at once; one that outlasts the budget becomes a
 * {@link NatsUnavailableError}.
 */
export async function retryTransient<T>(what: string, fn: () => Promise<T>, budgetMs: number): Promise<T> {
  const start = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isTransientNatsError(err)) throw err;
      const waited = Date.now() - start;
      const base = BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)] as number;
      const wait = base / 2 + Math.random() * base;
      if (waited + wait > budgetMs) throw new NatsUnavailableError(what, waited, { cause: err });
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}
