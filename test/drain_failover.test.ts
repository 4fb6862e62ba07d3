import { testToken, waitFor } from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  activeDrains as active,
  type DrainStack,
  firstSeen,
  frameReceiver,
  msgOf,
  type DrainerProc as Proc,
  spawnDrainer,
  startDrainStack,
} from "./drain_helpers.js";

const RATE = 1000;

describe("drain failover", () => {
  let ds: DrainStack;
  const procs: Proc[] = [];
  beforeAll(async () => {
    ds = await startDrainStack();
  });
  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill("SIGKILL");
    await ds?.stop();
  });

  it("drain - two drainers share a drain; SIGKILL the writer and the other takes over without losing a line", async () => {
    const rx = await frameReceiver();
    const a = await spawnDrainer(ds.drainerEnv);
    const b = await spawnDrainer(ds.drainerEnv);
    procs.push(a, b);
    const token = await testToken({ tenant: "acme", scopes: ["drains.write"] });
    const res = await fetch(`${ds.api}/v1/apps/fo/drains`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
      body: JSON.stringify({ url: `syslog://127.0.0.1:${rx.port}` }),
    });
    expect(res.status).toBe(201);
    // Exactly one of them writes the drain.
    const writer = await waitFor(
      "one drainer to take the drain",
      async () => {
        const [na, nb] = [await active(a), await active(b)];
        return na + nb === 1 ? (na ? a : b) : undefined;
      },
      10_000,
    );
    const standby = writer === a ? b : a;

    const pub = await ds.publisher();
    let sent = 0;
    let stop = false;
    const start = Date.now();
    const publishing = (async () => {
      while (!stop) {
        const due = Math.floor(((Date.now() - start) / 1000) * RATE);
        for (; sent < due; sent++) pub.line("acme", "fo", `${sent} fo`);
        await new Promise((r) => setTimeout(r, 10));
      }
      await pub.drain();
    })();
    await waitFor("lines through the first drainer", () => rx.frames.length > 1000, 30_000);
    const killedAt = Date.now();
    writer.child.kill("SIGKILL");
    await waitFor("the standby to take over", async () => (await active(standby)) === 1, 15_000);
    const takeoverMs = Date.now() - killedAt;
    await new Promise((r) => setTimeout(r, 1500));
    stop = true;
    await publishing;

    const lines = () => firstSeen(rx.frames.map((f) => msgOf(f.text)).filter((m) => m.endsWith(" fo")));
    await waitFor("every line", () => lines().length >= sent, 20_000);
    expect(lines()).toEqual(Array.from({ length: sent }, (_, i) => `${i} fo`));
    console.log(`failover: ${sent} lines, takeover ${takeoverMs} ms, ${rx.frames.length - lines().length} duplicates`);
  }, 60_000);
});
