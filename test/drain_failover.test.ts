import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { CURSORS_BUCKET } from "@tailrace/drainer";
import { shardOf } from "@tailrace/drainer/internal";
import { DRAIN_STREAM } from "@tailrace/envelope";
import { testToken, waitFor } from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  activeDrains as active,
  catchups,
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
    // The two share the shards out once both run, so the drain may have moved since: kill whoever writes it now.
    const current = (await active(writer)) === 1 ? writer : standby;
    const other = current === writer ? standby : writer;
    const killedAt = Date.now();
    current.child.kill("SIGKILL");
    await waitFor("the other to take over", async () => (await active(other)) === 1, 15_000);
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

describe("drain cursors", () => {
  let ds: DrainStack;
  beforeAll(async () => {
    ds = await startDrainStack();
  });
  afterAll(() => ds?.stop());

  it("drain - a quiet app's cursor moves on with the feed, so whoever resumes the drain starts near the present", async () => {
    const rx = await frameReceiver();
    await ds.startDrainer();
    const quiet = await ds.store.add("acme", "quiet", `syslog://127.0.0.1:${rx.port}`, 5);
    await ds.store.add("acme", "busy", `syslog://127.0.0.1:${rx.port}`, 5);
    const pub = await ds.publisher();
    pub.line("acme", "quiet", "0 quiet");
    await pub.drain();
    for (let i = 0; i < 300; i++) {
      pub.line("acme", "busy", `${i} busy`);
      if (i % 10 === 9) await pub.drain();
    }
    await pub.drain();
    const got = () => rx.frames.map((f) => msgOf(f.text));
    await waitFor("every line", () => got().includes("0 quiet") && got().includes("299 busy"), 20_000);
    // The quiet drain delivered its one batch long before the busy app's last ones were stored; its checkpoint still
    // comes to the end of the buffer, where a replay or a catch-up from it has nothing to read.
    const last = (await (await jetstreamManager(ds.nc)).streams.info(DRAIN_STREAM)).state.last_seq;
    const kv = await new Kvm(ds.nc).open(CURSORS_BUCKET);
    const cursor = await waitFor(
      "the quiet drain's checkpoint at the end of the buffer",
      async () => {
        const c = (await kv.get(`shard.${shardOf(quiet.id)}`))?.json<{ cursors: Record<string, number> }>().cursors[quiet.id] ?? 0;
        return c >= last ? c : undefined;
      },
      10_000,
      100,
    );
    expect(cursor).toBeGreaterThanOrEqual(last);
  }, 60_000);
});

describe("drain failover at width", () => {
  let ds: DrainStack;
  const procs: Proc[] = [];
  beforeAll(async () => {
    ds = await startDrainStack();
  });
  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill("SIGKILL");
    await ds?.stop();
  });

  it("drain - 200 drains over two drainers; SIGKILL one and the other resumes its drains from their cursors: every line of every drain, in order, also of those whose receiver is down meanwhile", async () => {
    const rx = await frameReceiver();
    // Every tenth drain goes to a receiver that is down through the takeover: those drains must not hold the others.
    const rxDown = await frameReceiver();
    const a = await spawnDrainer(ds.drainerEnv);
    const b = await spawnDrainer(ds.drainerEnv);
    procs.push(a, b);
    const APPS = 200;
    const apps = Array.from({ length: APPS }, (_, i) => `many-${i}`);
    const stuck = (app: string) => Number(app.slice(5)) % 10 === 0;
    for (const app of apps) await ds.store.add("acme", app, `syslog://127.0.0.1:${(stuck(app) ? rxDown : rx).port}`, 5);
    // Both drainers deliver part of them: the shards are shared out.
    await waitFor(
      "the drains shared between the two drainers",
      async () => {
        const [na, nb] = [await active(a), await active(b)];
        return na + nb === APPS && na > 0 && nb > 0;
      },
      30_000,
    );
    const pub = await ds.publisher();
    let sent = 0;
    let stop = false;
    const publishing = (async () => {
      // Five lines a second per app.
      while (!stop) {
        for (const app of apps) pub.line("acme", app, `${sent} ${app}`);
        sent++;
        await new Promise((r) => setTimeout(r, 200));
      }
      await pub.drain();
    })();
    const byApp = () => {
      const m = new Map<string, string[]>();
      for (const f of [...rx.frames, ...rxDown.frames]) {
        const msg = msgOf(f.text);
        const app = msg.split(" ")[1] ?? "";
        const list = m.get(app);
        if (list) list.push(msg);
        else m.set(app, [msg]);
      }
      return m;
    };
    await waitFor("lines of every drain", () => byApp().size === APPS, 30_000);
    const killed = (await active(a)) > 0 ? a : b;
    const survivor = killed === a ? b : a;
    await new Promise((r) => setTimeout(r, 1500));
    await rxDown.down();
    const before = await catchups(survivor);
    killed.child.kill("SIGKILL");
    await waitFor("the survivor to deliver every drain", async () => (await active(survivor)) === APPS, 20_000);
    // The drains taken over resume from their cursors on a replay they share, not on a consumer each.
    const after = await waitFor("the taken drains' catch-ups", async () => {
      const c = await catchups(survivor);
      return c.replay > before.replay ? c : undefined;
    });
    await new Promise((r) => setTimeout(r, 2000));
    stop = true;
    await publishing;
    const complete = (app: string) => firstSeen(byApp().get(app) ?? []).length >= sent;
    await waitFor("every line of every drain whose receiver is up", () => apps.every((app) => stuck(app) || complete(app)), 30_000);
    await rxDown.up();
    await waitFor("every line of the drains whose receiver came back", () => apps.every(complete), 30_000);
    for (const app of apps) expect(firstSeen(byApp().get(app) ?? [])).toEqual(Array.from({ length: sent }, (_, i) => `${i} ${app}`));
    console.log(
      `failover of many: ${APPS} drains, ${sent} lines each, ${rx.frames.length + rxDown.frames.length - APPS * sent} duplicates; ` +
        `the takeover's catch-ups: ${after.replay - before.replay} on a replay, ${after.own - before.own} on their own consumer`,
    );
  }, 90_000);
});
