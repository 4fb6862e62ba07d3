import { mkdir } from "node:fs/promises";
import { createServer } from "node:https";
import { makeTestPki, type TempDir, tempDir, testToken, waitFor } from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DrainStack, msgOf, startDrainStack } from "./drain_helpers.js";

interface Post {
  headers: Record<string, string | string[] | undefined>;
  frames: string[];
  status: number;
}

/** Splits an application/logplex-1 body into its octet-counted frames; throws on anything malformed. */
function logplexFrames(body: Buffer): string[] {
  const out: string[] = [];
  let pos = 0;
  while (pos < body.length) {
    const sp = body.indexOf(0x20, pos);
    if (sp < 0) throw new Error(`no length at byte ${pos}`);
    const len = Number(body.subarray(pos, sp).toString("latin1"));
    if (!Number.isInteger(len) || sp + 1 + len > body.length) throw new Error(`bad frame length at byte ${pos}`);
    out.push(body.subarray(sp + 1, sp + 1 + len).toString("utf8"));
    pos = sp + 1 + len;
  }
  return out;
}

describe("https drains", () => {
  let ds: DrainStack;
  let dir: TempDir;
  beforeAll(async () => {
    ds = await startDrainStack();
    dir = await tempDir("tailrace-drain-https-");
  });
  afterAll(async () => {
    await ds?.stop();
    await dir?.remove();
  });

  it("drain - https:// sends Logplex batches whose counts match their bodies, retries a 503 and drops a 400 with a notice", async () => {
    await mkdir(`${dir.path}/pki`);
    const pki = await makeTestPki(`${dir.path}/pki`);
    const posts: Post[] = [];
    let answer = (_n: number, _app: string): number => 200;
    const server = createServer({ cert: pki.server.cert, key: pki.server.key }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const status = answer(posts.length, req.url ?? "");
        posts.push({ headers: req.headers, frames: logplexFrames(Buffer.concat(chunks)), status });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    // The first request fails with 503 and must come again, same Frame-Id; /reject always answers 400.
    answer = (n, path) => (path.startsWith("/reject") ? 400 : n === 0 ? 503 : 200);

    const drainer = await ds.startDrainer({ TAILRACE_DRAIN_HTTP_BATCH_BYTES: "65536", TAILRACE_DRAIN_BACKOFF_MIN: "100ms" });
    const token = await testToken({ tenant: "acme", scopes: ["drains.write"] });
    for (const [app, path] of [
      ["hweb", "/logs"],
      ["hrej", "/reject"],
    ]) {
      const res = await fetch(`${ds.api}/v1/apps/${app}/drains`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
        body: JSON.stringify({ url: `https://user:pa55word@localhost:${port}${path}`, tls: { ca: pki.ca } }),
      });
      expect(res.status).toBe(201);
    }
    const pub = await ds.publisher();
    const N = 3000;
    for (let i = 0; i < N; i++) pub.line("acme", "hweb", `${i} ${"h".repeat(100)}`);
    pub.line("acme", "hrej", "refused for good");
    await pub.drain();

    const ok = () => posts.filter((p) => p.status === 200 && p.frames.some((f) => f.includes(" hweb ")));
    await waitFor(
      "every line over https",
      () => ok().reduce((n, p) => n + p.frames.filter((f) => f.includes("[APP/")).length, 0) >= N,
      20_000,
    );
    for (const p of posts) {
      expect(p.headers["content-type"]).toBe("application/logplex-1");
      expect(Number(p.headers["logplex-msg-count"])).toBe(p.frames.length);
      expect(p.headers["logplex-frame-id"]).toMatch(/^[0-9a-f-]{36}$/);
      expect(p.headers.authorization).toBe(`Basic ${Buffer.from("user:pa55word").toString("base64")}`);
    }
    expect(ok().length).toBeGreaterThan(1); // 64 KiB batches: several of them
    // The drain's own LGR lines (the 503) are in the app's stream, so they are drained too; compare the app's lines.
    const lines = ok()
      .flatMap((p) => p.frames)
      .filter((f) => f.includes("[APP/PROC/WEB/0]"))
      .map(msgOf);
    expect(lines).toEqual(Array.from({ length: N }, (_, i) => `${i} ${"h".repeat(100)}`));
    // The 503'd batch came again with the same Frame-Id.
    const failed = posts.find((p) => p.status === 503);
    expect(posts.filter((p) => p.headers["logplex-frame-id"] === failed?.headers["logplex-frame-id"]).map((p) => p.status)).toEqual([
      503, 200,
    ]);

    // The 400 drain dropped its batch and said so in the app's stream, without the password.
    const reader = await testToken({ tenant: "acme" });
    const notices = await waitFor(
      "the drop notices",
      async () => {
        const res = await fetch(`${ds.stack.api}/api/v1/read/hrej?limit=100`, { headers: { authorization: `Bearer ${reader}` } });
        const body = (await res.json()) as { envelopes: { batch: Array<{ tags: Record<string, string>; log?: { payload: string } }> } };
        const texts = body.envelopes.batch
          .filter((e) => e.tags.source_type === "LGR")
          .map((e) => Buffer.from(e.log?.payload ?? "", "base64").toString());
        return texts.some((t) => t.includes("messages lost")) && texts.some((t) => t.includes("HTTP 400")) ? texts : undefined;
      },
      20_000,
    );
    expect(notices.join("\n")).not.toContain("pa55word");
    expect(notices).toContain(`1 messages lost for drain https://localhost:${port}/reject`);
    const rej = drainer.stats().find((s) => s.source_id === "hrej");
    expect(rej?.lost).toBe(1);
    await new Promise((r) => server.close(r));
  }, 60_000);
});
