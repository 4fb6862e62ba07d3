/**
 * The drain's voice in the app's own stream: LGR log lines that `tailrace logs APP` shows. At most one error line and
 * one loss line per drain per interval (a minute by default); errors in between are counted into the next line, and
 * losses are summed. Only the anonymised URL ever appears.
 */
export type PublishNotice = (text: string) => Promise<void>;

export class Notices {
  private lastError = Number.NEGATIVE_INFINITY;
  private suppressed = 0;
  private lastLoss = Number.NEGATIVE_INFINITY;
  private lost = 0;
  private lossTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly publish: PublishNotice,
    private readonly anonymizedUrl: string,
    private readonly intervalMs: number,
    /** Also told each error line that goes out, to keep the drain's last error where the API can show it. */
    private readonly record?: (text: string) => void,
  ) {}

  error(reason: string): void {
    const now = Date.now();
    if (now - this.lastError < this.intervalMs) {
      this.suppressed++;
      return;
    }
    this.lastError = now;
    const more = this.suppressed > 0 ? ` (${this.suppressed} more errors since the last notice)` : "";
    this.suppressed = 0;
    const text = `Tailrace drain ${this.anonymizedUrl} failed: ${reason}; retrying${more}`;
    void this.publish(text);
    this.record?.(text);
  }

  /** Messages a drain gave up on: `N messages lost for drain <url>`. */
  loss(n: number): void {
    this.lost += n;
    if (this.lossTimer) return;
    const wait = Math.max(0, this.lastLoss + this.intervalMs - Date.now());
    this.lossTimer = setTimeout(() => this.flushLoss(), wait);
    this.lossTimer.unref();
  }

  private flushLoss(): void {
    this.lossTimer = undefined;
    if (this.lost === 0) return;
    this.lastLoss = Date.now();
    const n = this.lost;
    this.lost = 0;
    void this.publish(`${n} messages lost for drain ${this.anonymizedUrl}`);
  }

  /** Sends a pending loss line now. */
  stop(): void {
    clearTimeout(this.lossTimer);
    this.flushLoss();
  }
}
