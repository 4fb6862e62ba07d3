import { describe, expect, it, vi } from "vitest";
import { Notices } from "./notices.js";

describe("drain notices", () => {
  it("notices - at most one error line per interval; the next counts what was held back", () => {
    vi.useFakeTimers();
    const sent: string[] = [];
    const n = new Notices(async (t) => void sent.push(t), "syslog://logs.example.com:514", 60_000);
    n.error("connect ECONNREFUSED");
    n.error("connect ECONNREFUSED");
    n.error("connect ECONNREFUSED");
    expect(sent).toEqual(["Tailrace drain syslog://logs.example.com:514 failed: connect ECONNREFUSED; retrying"]);
    vi.advanceTimersByTime(60_000);
    n.error("TLS: certificate has expired");
    expect(sent[1]).toBe(
      "Tailrace drain syslog://logs.example.com:514 failed: TLS: certificate has expired; retrying (2 more errors since the last notice)",
    );
    vi.useRealTimers();
  });

  it("notices - losses are summed into one line per interval", () => {
    vi.useFakeTimers();
    const sent: string[] = [];
    const n = new Notices(async (t) => void sent.push(t), "https://logs.example.com/x", 60_000);
    n.loss(3);
    vi.advanceTimersByTime(0);
    n.loss(4);
    n.loss(5);
    vi.advanceTimersByTime(30_000);
    expect(sent).toEqual(["3 messages lost for drain https://logs.example.com/x"]);
    vi.advanceTimersByTime(30_000);
    expect(sent[1]).toBe("9 messages lost for drain https://logs.example.com/x");
    vi.useRealTimers();
  });
});
