import { fileURLToPath } from "node:url";
import { testToken, waitFor } from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, openTail, rejoin, type Stack, startStack } from "./helpers.js";

const CHILD = fileURLToPath(new URL("./fixtures/numbered.mjs", import.meta.url));

/** What numbered.mjs prints, as (type, text) in the order each stream wrote it. */
function expected(n: number): Array<{ type: string; text: string }> {
  const out: Array<{ type: string; text: string }> = [];
  for (let i = 1; i <= n; i++) {
    let line = `line ${i}`;
    if (i % 50 === 0) line += " ünïcødé ✓ 日本語";
    if (i === 250) line += ` big ${"x".repeat(100 * 1024)} end`;
    if (i === 300) line += "\nmulti second\nmulti third";
    for (const l of line.split("\n")) out.push({ type: i % 7 === 0 ? "ERR" : "OUT", text: l });
  }
  return out;
}

const byType = (xs: Array<{ type: string; text: string }>, t: string) => xs.filter((x) => x.type === t).map((x) => x.text);

describe("walking skeleton", () => {
  let stack: Stack;
  let token: string;
  beforeAll(async () => {
    stack = await startStack();
    token = await testToken({ tenant: "acme" });
  });
  afterAll(() => stack?.stop());

  it("skeleton - a process's lines reach a tail opened before it starts, the read API and `logs --recent`", async () => {
    const tail = await openTail(stack.api, "/v1/apps/numbers/stream", token);
    const run = await cli(["run", "--tenant", "acme", "--app", "numbers", "--quiet", "--", process.execPath, CHILD, "500"], stack.env);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);

    const want = expected(500);
    await waitFor("every line on the tail", () => rejoin(tail.envelopes).length >= want.length, 15_000);
    tail.close();
    const got = rejoin(tail.envelopes);
    // Each stream keeps its own order; the two pipes interleave as the OS delivers them.
    expect(byType(got, "OUT")).toEqual(byType(want, "OUT"));
    expect(byType(got, "ERR")).toEqual(byType(want, "ERR"));
    expect(got).toHaveLength(want.length);

    // The 100 KiB line arrives split into marked parts of at most 64 KiB, and nothing is lost.
    const parts = tail.envelopes.filter((e) => e.tags.partial === "true");
    expect(parts.length).toBe(1);
    for (const e of tail.envelopes) expect(e.log?.payload.length).toBeLessThanOrEqual(64 * 1024);
    const first = tail.envelopes[0];
    expect(first?.tags).toMatchObject({ tenant: "acme", app_name: "numbers", source_type: "APP/PROC/WEB", process_type: "web" });
    expect(first?.instanceId).toBe("0");
    expect(tail.cursors.length).toBeGreaterThan(0);

    // The read API returns the same envelopes.
    const res = await fetch(`${stack.api}/api/v1/read/numbers?limit=1000`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      envelopes: { batch: Array<{ log: { payload: string; type: string }; tags: Record<string, string> }> };
    };
    const fromApi = body.envelopes.batch;
    expect(fromApi).toHaveLength(tail.envelopes.length);
    const apiLines = rejoin(
      fromApi.map((e) => ({
        timestamp: 0n,
        sourceId: "numbers",
        instanceId: "0",
        tags: e.tags,
        log: { type: e.log.type as "OUT", payload: Buffer.from(e.log.payload, "base64") },
      })),
    );
    expect(byType(apiLines, "OUT")).toEqual(byType(want, "OUT"));
    expect(byType(apiLines, "ERR")).toEqual(byType(want, "ERR"));

    // `tailrace logs --recent` prints them in cf logs format, split lines re-joined.
    const recent = await cli(["logs", "numbers", "--recent"], { ...stack.env, TAILRACE_TOKEN: token });
    expect(recent.code).toBe(0);
    const lines = recent.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(want.length);
    const cf = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d\d[+-]\d{4} \[APP\/PROC\/WEB\/0\] (OUT|ERR) (.*)$/;
    const printed = lines.map((l) => {
      const m = cf.exec(l);
      expect(m, l.slice(0, 120)).not.toBeNull();
      return { type: m?.[1] as string, text: m?.[2] as string };
    });
    expect(byType(printed, "OUT")).toEqual(byType(want, "OUT"));
    expect(byType(printed, "ERR")).toEqual(byType(want, "ERR"));
  });

  it("skeleton - `tailrace run` exits with the child's code and passes its output through", async () => {
    const r = await cli(["run", "--tenant", "acme", "--app", "exits", "--", "sh", "-c", "echo out; echo err >&2; exit 7"], stack.env);
    expect(r.code).toBe(7);
    expect(r.stdout).toBe("out\n");
    expect(r.stderr).toBe("err\n");
    const killed = await cli(["run", "--tenant", "acme", "--app", "exits", "--", "sh", "-c", "kill -TERM $$"], stack.env);
    expect(killed.code).toBe(143);
  });

  it("skeleton - `tailrace run` refuses names that could widen a subject", async () => {
    for (const bad of ["a.b", "*", ">", "a b"]) {
      const r = await cli(["run", "--tenant", bad, "--app", "web", "--", "true"], stack.env);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/invalid tenant/);
    }
  });

  it("skeleton - `tailrace logs --json` prints one protojson envelope a line", async () => {
    await cli(["run", "--tenant", "acme", "--app", "jsonapp", "--quiet", "--", "sh", "-c", "echo hello"], stack.env);
    const r = await cli(["logs", "jsonapp", "--recent", "--json"], { ...stack.env, TAILRACE_TOKEN: token });
    expect(r.code).toBe(0);
    const e = JSON.parse(r.stdout.trim());
    expect(e).toMatchObject({
      source_id: "jsonapp",
      instance_id: "0",
      tags: { tenant: "acme" },
      log: { type: "OUT", payload: Buffer.from("hello").toString("base64") },
    });
    expect(typeof e.timestamp).toBe("string");
  });
});
