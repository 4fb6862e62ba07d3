/**
 * Limits against one tenant or one client exhausting a doppler: open tails per tenant and per client address, and a
 * request rate per token. Each refusal is counted by reason, and answered with a clear 429.
 */

export class LimitError extends Error {
  override name = "LimitError";
  constructor(
    readonly reason: "tails_per_tenant" | "tails_per_address" | "request_rate",
    message: string,
    /** Seconds after which a retry may succeed. */
    readonly retryAfterSec = 1,
  ) {
    super(message);
  }
}

export interface LimitOptions {
  tailsPerTenant: number;
  tailsPerAddress: number;
  /** Requests per second per token (sustained); bursts up to twice that. */
  requestsPerSec: number;
}

export class Limits {
  private readonly perTenant = new Map<string, number>();
  private readonly perAddress = new Map<string, number>();
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  readonly refused: Record<LimitError["reason"], number> = { tails_per_tenant: 0, tails_per_address: 0, request_rate: 0 };

  constructor(private readonly o: LimitOptions) {}

  /** Takes a tail slot for `tenant` from `address`; the returned function gives it back (call it exactly once). */
  openTail(tenant: string, address: string): () => void {
    const t = this.perTenant.get(tenant) ?? 0;
    const a = this.perAddress.get(address) ?? 0;
    if (t >= this.o.tailsPerTenant) {
      this.refused.tails_per_tenant++;
      throw new LimitError("tails_per_tenant", `tenant ${tenant} has ${t} tails open, the most allowed (TAILRACE_MAX_TAILS_PER_TENANT)`, 5);
    }
    if (a >= this.o.tailsPerAddress) {
      this.refused.tails_per_address++;
      throw new LimitError(
        "tails_per_address",
        `this client address has ${a} tails open, the most allowed (TAILRACE_MAX_TAILS_PER_ADDRESS)`,
        5,
      );
    }
    this.perTenant.set(tenant, t + 1);
    this.perAddress.set(address, a + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      dec(this.perTenant, tenant);
      dec(this.perAddress, address);
    };
  }

  /** A token bucket per key (the token's subject and tenants): refills at the rate, holds twice the rate. */
  request(key: string, now = Date.now()): void {
    const cap = this.o.requestsPerSec * 2;
    const b = this.buckets.get(key) ?? { tokens: cap, at: now };
    b.tokens = Math.min(cap, b.tokens + ((now - b.at) / 1000) * this.o.requestsPerSec);
    b.at = now;
    if (b.tokens < 1) {
      this.buckets.set(key, b);
      this.refused.request_rate++;
      throw new LimitError(
        "request_rate",
        `more than ${this.o.requestsPerSec} requests per second for this token (TAILRACE_REQUEST_RATE)`,
        1,
      );
    }
    b.tokens -= 1;
    this.buckets.set(key, b);
    // Forget idle buckets now and then, so keys of expired tokens do not pile up.
    if (this.buckets.size > 10_000) for (const [k, v] of this.buckets) if (now - v.at > 60_000) this.buckets.delete(k);
  }
}

function dec(m: Map<string, number>, k: string): void {
  const n = (m.get(k) ?? 1) - 1;
  if (n <= 0) m.delete(k);
  else m.set(k, n);
}
