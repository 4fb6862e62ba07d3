/**
 * NATS-level isolation (issue 8): a real nats-server runs the shipped deploy/nats/nats.conf (with its auth.conf),
 * each component connects with its own user, and the server itself refuses what a component must not do, while the
 * whole pipeline (tailrace run → doppler → tail, recent, firehose; drainer → TCP syslog) still works under it.
 */
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { type NatsConnection, nkeys, type PermissionViolationError } from "@nats-io/transport-node";
import { Doppler, loadDopplerConfig } from "@tailrace/doppler";
import { Drainer, loadDrainerConfig } from "@tailrace/drainer";
import { encodeBatch, lgrNotice } from "@tailrace/envelope";
import { connectNats, createLogger, loadConfig, natsSecurity, natsSpec } from "@tailrace/runtime";
import {
  makeTestPki,
  type NatsServer,
  startNatsServer,
  TEST_JWT_SECRET,
  type TempDir,
  type TestPki,
  tempDir,
  testToken,
  waitFor,
} from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FrameReceiver, fileLogger, frameReceiver, msgOf } from "./drain_helpers.js";
import { cli, openTail, rejoin, text } from "./helpers.js";

const CONF = fileURLToPath(new URL("../deploy/nats/nats.conf", import.meta.url));
const CHILD = fileURLToPath(new URL("./fixtures/numbered.mjs", import.meta.url));
const USERS = ["agent", "doppler", "drainer", "admin", "sys"] as const;
type User = (typeof USERS)[number];

/** A fresh password per run, given to nats-server the way docker-compose.yml does: through the environment. */
const PASSWORDS = Object.fromEntries(USERS.map((u) => [u, `pw-${randomBytes(12).toString("hex")}`])) as Record<User, string>;
const passwordVar = (u: User) => `TAILRACE_NATS_${u.toUpperCase()}_PASSWORD`;

interface Violation {
  operation: string;
  subject: string;
}

describe("NATS permissions (deploy/nats)", () => {
  let nats: NatsServer;
  let dir: TempDir;
  let doppler: Doppler;
  let drainer: Drainer;
  let api: string;
  let receiver: FrameReceiver;
  const open: NatsConnection[] = [];

  const natsEnv = (u: User) => ({ NATS_URL: nats.url, NATS_USER: u, NATS_PASSWORD: PASSWORDS[u] });

  /** Connects as `u` through the runtime's own connectNats, with the inbox prefix the component would use. */
  async function connectAs(u: User, password = PASSWORDS[u]): Promise<NatsConnection> {
    const settings = loadConfig(natsSpec, { NATS_USER: u, NATS_PASSWORD: password });
    const nc = await connectNats({
      url: nats.url,
      name: `test-${u}`,
      logger: createLogger({ name: "test", level: "silent" }),
      security: natsSecurity(settings, u),
      connectTimeoutMs: 2000,
    });
    open.push(nc);
    return nc;
  }

  /** Subscribes and resolves with the server's refusal (or undefined if it let the subscription stand). */
  async function trySubscribe(nc: NatsConnection, subject: string): Promise<Violation | undefined> {
    let refused: Violation | undefined;
    nc.subscribe(subject, {
      callback: (err) => {
        if (err) refused = { operation: (err as PermissionViolationError).operation, subject: (err as PermissionViolationError).subject };
      },
    });
    await nc.flush();
    await new Promise((r) => setTimeout(r, 100));
    return refused;
  }

  /** A request the server must refuse to forward: rejects with its Permissions Violation. */
  async function requestError(nc: NatsConnection, subject: string, body = ""): Promise<string> {
    try {
      await nc.request(subject, body, { timeout: 2000 });
    } catch (err) {
      return (err as Error).message;
    }
    return "answered";
  }

  beforeAll(async () => {
    for (const u of USERS) process.env[passwordVar(u)] = PASSWORDS[u];
    nats = await startNatsServer({ args: ["-c", CONF] });
    dir = await tempDir();
    receiver = await frameReceiver();
    const dopplerEnv = {
      ...natsEnv("doppler"),
      TAILRACE_JWT_SECRET: TEST_JWT_SECRET,
      TAILRACE_DOPPLER_PORT: "0",
      TAILRACE_DOPPLER_HOST: "127.0.0.1",
      TAILRACE_DRAIN_ALLOW_CIDRS: "127.0.0.0/8",
    };
    doppler = new Doppler(loadDopplerConfig(dopplerEnv), fileLogger("test-doppler", join(dir.path, "doppler.log")));
    await doppler.start();
    api = `http://127.0.0.1:${doppler.port}`;
    drainer = new Drainer(
      loadDrainerConfig({
        ...natsEnv("drainer"),
        TAILRACE_DRAIN_ALLOW_CIDRS: "127.0.0.0/8",
        TAILRACE_DRAINER_HOST: "127.0.0.1",
        TAILRACE_DRAINER_PORT: "0",
        TAILRACE_DRAIN_CONFIRM: "200ms",
        TAILRACE_DRAIN_BACKOFF_MAX: "1s",
      }),
      fileLogger("test-drainer", join(dir.path, "drainer.log")),
    );
    await drainer.start();
  });

  afterAll(async () => {
    for (const nc of open) await nc.close().catch(() => undefined);
    await drainer?.stop();
    await doppler?.stop();
    await receiver?.down();
    await nats?.stop();
    await dir?.remove();
    for (const u of USERS) delete process.env[passwordVar(u)];
  });

  it("nats permissions - no credentials, or a wrong password, get no connection", async () => {
    const none = await connectNats({
      url: nats.url,
      name: "anon",
      logger: createLogger({ name: "t", level: "silent" }),
      connectTimeoutMs: 2000,
    }).catch((e: Error) => e);
    expect(String(none)).toMatch(/Authorization Violation/);
    const wrong = await connectAs("agent", "not-the-password").catch((e: Error) => e);
    expect(String(wrong)).toMatch(/Authorization Violation/);
    expect(String(wrong)).not.toContain("not-the-password");
  });

  it("nats permissions - the pipeline works end to end: tailrace run (agent) → doppler tail, recent, firehose; drainer → TCP", async () => {
    const token = await testToken({ tenant: "acme", scopes: ["logs.read", "drains.write"] });
    const tail = await openTail(api, "/v1/apps/perm-web/stream", token);
    const firehose = await openTail(api, "/v1/firehose/perm-test", await testToken({ scopes: ["logs.admin"] }));
    const bound = await fetch(`${api}/v1/apps/perm-web/drains`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ url: `syslog://127.0.0.1:${receiver.port}` }),
    });
    expect(bound.status, await bound.clone().text()).toBe(201);

    const run = await cli(
      ["run", "--tenant", "acme", "--app", "perm-web", "--quiet", "--", process.execPath, CHILD, "200"],
      natsEnv("agent"),
    );
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    // numbered.mjs prints `line 1` … `line 200`, every 50th with a non-ASCII suffix.
    const want = Array.from({ length: 200 }, (_, i) => `line ${i + 1}${(i + 1) % 50 === 0 ? " ünïcødé ✓ 日本語" : ""}`);
    await waitFor("every line on the tail", () => rejoin(tail.envelopes).length >= want.length, 15_000);
    expect(
      rejoin(tail.envelopes)
        .map((l) => l.text)
        .sort(),
    ).toEqual([...want].sort());
    await waitFor("the firehose to see the app", () => firehose.envelopes.some((e) => text(e) === want[199]), 30_000);
    tail.close();
    firehose.close();

    // A resume from the first batch's first envelope replays the rest (a direct get and an ordered pull consumer).
    const seq = (tail.cursors[0] as string).split("-")[0];
    const resumed = await openTail(api, `/v1/apps/perm-web/stream?cursor=${seq}-0-0`, token);
    await waitFor("the resume to replay up to the last line", () => resumed.envelopes.some((e) => text(e) === want[199]), 30_000);
    resumed.close();

    const recent = await cli(["logs", "perm-web", "--recent"], { TAILRACE_API: api, TAILRACE_TOKEN: token });
    expect(recent.code, recent.stderr).toBe(0);
    expect(recent.stdout).toContain(`OUT ${want[199]}`);

    const frames = await waitFor(
      "the drain to deliver every line",
      () => {
        const msgs = receiver.frames.map((f) => msgOf(f.text));
        return want.every((w) => msgs.includes(w)) ? msgs : undefined;
      },
      20_000,
    );
    expect(new Set(frames.filter((m) => m.startsWith("line "))).size).toBe(want.length);

    // The drains list reads the bindings bucket; a failing drain's LGR notice is published by the drainer.
    const list = await fetch(`${api}/v1/apps/perm-web/drains`, { headers: { authorization: `Bearer ${token}` } });
    expect(list.status).toBe(200);
    const dead = await frameReceiver();
    await dead.down();
    const failing = await fetch(`${api}/v1/apps/perm-fail/drains`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ url: `syslog://127.0.0.1:${dead.port}` }),
    });
    expect(failing.status, await failing.clone().text()).toBe(201);
    const failTail = await openTail(api, "/v1/apps/perm-fail/stream", token);
    const again = await cli(
      ["run", "--tenant", "acme", "--app", "perm-fail", "--quiet", "--", process.execPath, CHILD, "3"],
      natsEnv("agent"),
    );
    expect(again.code).toBe(0);
    await waitFor(
      "the drainer's LGR notice on the app's tail",
      () => failTail.envelopes.some((e) => e.tags.source_type === "LGR" && /Tailrace drain .* failed/.test(text(e))),
      15_000,
    );
    failTail.close();

    // Nothing any component did was refused: no permission violation in the doppler's or the drainer's log.
    for (const f of ["doppler.log", "drainer.log"]) {
      const log = readFileSync(join(dir.path, f), "utf8");
      expect(log).toContain("connected to NATS");
      expect(log).not.toMatch(/Permissions Violation/);
      for (const u of USERS) expect(log).not.toContain(PASSWORDS[u]);
    }
  });

  it("nats permissions - an agent cannot subscribe to `>` or `tr.data.>`, nor read the stream", async () => {
    const nc = await connectAs("agent");
    expect(await trySubscribe(nc, ">")).toEqual({ operation: "subscription", subject: ">" });
    expect(await trySubscribe(nc, "tr.data.>")).toEqual({ operation: "subscription", subject: "tr.data.>" });
    expect(await trySubscribe(nc, "tr.data.acme.perm-web.log")).toMatchObject({ operation: "subscription" });
    // Nor another component's replies, which carry stream messages to dopplers and drainers.
    expect(await trySubscribe(nc, "_INBOX_doppler.>")).toMatchObject({ operation: "subscription" });
    expect(await trySubscribe(nc, "_INBOX.>")).toMatchObject({ operation: "subscription" });
    // No JetStream read path either: no consumer, no direct or stored-message get, no stream info.
    expect(await requestError(nc, "$JS.API.CONSUMER.CREATE.TAILRACE_DATA", "{}")).toMatch(/Permissions Violation for Publish/);
    expect(await requestError(nc, "$JS.API.CONSUMER.CREATE.TAILRACE_DATA.x.tr.data.acme.perm-web.log", "{}")).toMatch(
      /Permissions Violation/,
    );
    expect(await requestError(nc, "$JS.API.DIRECT.GET.TAILRACE_DATA", '{"seq":1}')).toMatch(/Permissions Violation/);
    expect(await requestError(nc, "$JS.API.STREAM.MSG.GET.TAILRACE_DATA", '{"seq":1}')).toMatch(/Permissions Violation/);
    // Its own job still works: publish tenant data into the stream, with an ack.
    const ack = await jetstream(nc).publish("tr.data.acme.perm-agent.log", encodeBatch([lgrNotice("acme", "perm-agent", "hi")]));
    expect(ack.stream).toBe("TAILRACE_DATA");
  });

  it("nats permissions - a doppler cannot publish app logs, though it reads them", async () => {
    const nc = await connectAs("doppler");
    const admin = await connectAs("admin");
    const seen: string[] = [];
    admin.subscribe("tr.data.acme.>", { callback: (_e, m) => seen.push(m.subject) });
    await admin.flush();
    const refused = new Promise<string>((resolve) => {
      void (async () => {
        for await (const s of nc.status()) if (s.type === "error") resolve(s.error.message);
      })();
    });
    nc.publish("tr.data.acme.perm-web.log", encodeBatch([lgrNotice("acme", "perm-web", "forged by a doppler")]));
    await nc.flush();
    expect(await refused).toMatch(/Permissions Violation for Publish to "tr.data.acme.perm-web.log"/);
    await expect(jetstream(nc).publish("tr.data.acme.perm-web.log", new Uint8Array(1), { timeout: 2000 })).rejects.toThrow(
      /Permissions Violation/,
    );
    await admin.flush();
    expect(seen).toEqual([]);
    // Reading is its job: the firehose subscription stands.
    expect(await trySubscribe(nc, "tr.data.>")).toBeUndefined();
  });

  it("nats permissions - a drainer reads tenant data only through consumers on the drains' buffer, and administers no other stream", async () => {
    const nc = await connectAs("drainer");
    expect(await trySubscribe(nc, "tr.data.>")).toEqual({ operation: "subscription", subject: "tr.data.>" });
    expect(await trySubscribe(nc, "tr.data.acme.perm-web.log")).toMatchObject({ operation: "subscription" });
    expect(await trySubscribe(nc, "_INBOX_doppler.>")).toMatchObject({ operation: "subscription" });
    // Nothing on the data stream at all (drains read their apps' drain streams): no gets, no consumer of any kind.
    expect(await requestError(nc, "$JS.API.DIRECT.GET.TAILRACE_DATA", '{"seq":1}')).toMatch(/Permissions Violation/);
    expect(await requestError(nc, "$JS.API.STREAM.MSG.GET.TAILRACE_DATA", '{"seq":1}')).toMatch(/Permissions Violation/);
    expect(await requestError(nc, "$JS.API.STREAM.INFO.TAILRACE_DATA", "")).toMatch(/Permissions Violation/);
    expect(await requestError(nc, "$JS.API.CONSUMER.CREATE.TAILRACE_DATA", "{}")).toMatch(/Permissions Violation/);
    expect(await requestError(nc, "$JS.API.CONSUMER.DURABLE.CREATE.TAILRACE_DATA.x", "{}")).toMatch(/Permissions Violation/);
    expect(await requestError(nc, "$JS.API.CONSUMER.CREATE.TAILRACE_DATA.x.tr.data.acme.perm-web.log", "{}")).toMatch(
      /Permissions Violation/,
    );
    expect(await requestError(nc, "$JS.API.CONSUMER.MSG.NEXT.TAILRACE_DATA.x", "{}")).toMatch(/Permissions Violation/);
    // The drains' buffer is the one stream it may make, size and read; no other stream, whatever its name.
    expect(await requestError(nc, "$JS.API.STREAM.CREATE.TAILRACE_DRAIN_X", '{"name":"TAILRACE_DRAIN_X"}')).toMatch(
      /Permissions Violation/,
    );
    expect(await requestError(nc, "$JS.API.STREAM.CREATE.SNEAKY", '{"name":"SNEAKY","subjects":["tr.data.>"]}')).toMatch(
      /Permissions Violation/,
    );
    expect(await requestError(nc, "$JS.API.STREAM.DELETE.TAILRACE_DRAINS", "")).toMatch(/Permissions Violation/);
    expect(await requestError(nc, "$JS.API.STREAM.PURGE.TAILRACE_DRAINS", "")).toMatch(/Permissions Violation/);
    expect(await requestError(nc, "$JS.API.DIRECT.GET.TAILRACE_DRAINS", '{"seq":1}')).toMatch(/Permissions Violation/);
    // Nor the app map, nor stream administration.
    await expect(new Kvm(nc).open("tailrace_apps").then((kv) => kv.get("perm-web"))).rejects.toThrow(/Permissions Violation/);
    const jsm = await jetstreamManager(nc, { checkAPI: false });
    await expect(jsm.streams.delete("TAILRACE_DATA")).rejects.toThrow(/Permissions Violation/);
    await expect(jsm.streams.purge("TAILRACE_DATA")).rejects.toThrow(/Permissions Violation/);
    await expect(jsm.streams.update("TAILRACE_DATA", { max_age: 1 })).rejects.toThrow(/Permissions Violation/);
    await expect(jsm.streams.delete("KV_tailrace_drains")).rejects.toThrow(/Permissions Violation/);
  });
});

describe("NATS TLS and nkeys (NATS_CA, NATS_CERT/NATS_KEY, NATS_NKEY_SEED_FILE)", () => {
  let nats: NatsServer;
  let dir: TempDir;
  let pki: TestPki;
  let seedFile: string;
  const logger = createLogger({ name: "test", level: "silent" });

  /** Loads the settings as a deployable would, then connects with them. */
  function connectWith(env: Record<string, string>): Promise<NatsConnection> {
    const c = { ...loadConfig(natsSpec, env), NATS_URL: nats.url };
    return connectNats({ url: nats.url, name: "test-tls", logger, security: natsSecurity(c, "agent"), connectTimeoutMs: 2000 });
  }

  beforeAll(async () => {
    dir = await tempDir();
    pki = await makeTestPki(dir.path);
    const user = nkeys.createUser();
    seedFile = join(dir.path, "agent.nk");
    writeFileSync(seedFile, `${new TextDecoder().decode(user.getSeed())}\n`, { mode: 0o600 });
    const conf = join(dir.path, "tls.conf");
    writeFileSync(
      conf,
      [
        "tls {",
        `  cert_file: "${pki.server.certFile}"`,
        `  key_file: "${pki.server.keyFile}"`,
        `  ca_file: "${pki.caFile}"`,
        "  verify: true",
        "}",
        `authorization { users: [ { nkey: ${user.getPublicKey()} } ] }`,
      ].join("\n"),
    );
    nats = await startNatsServer({ args: ["-c", conf], jetstream: false });
  });

  afterAll(async () => {
    await nats?.stop();
    await dir?.remove();
  });

  const tlsEnv = () => ({
    NATS_CA: pki.caFile,
    NATS_CERT: pki.client.certFile,
    NATS_KEY: pki.client.keyFile,
    NATS_NKEY_SEED_FILE: seedFile,
  });

  it("nats tls - connects with the test CA, a client certificate and an nkey seed file", async () => {
    const nc = await connectWith(tlsEnv());
    expect(nc.info?.tls_required).toBe(true);
    const got = new Promise<string>((resolve) => nc.subscribe("hello", { max: 1, callback: (_e, m) => resolve(m.string()) }));
    nc.publish("hello", "over mTLS");
    expect(await got).toBe("over mTLS");
    await nc.close();
  });

  it("nats tls - refused without a client certificate, without the CA, or with another nkey", async () => {
    const { NATS_CERT: _c, NATS_KEY: _k, ...noCert } = tlsEnv();
    await expect(connectWith(noCert)).rejects.toThrow();
    const { NATS_CA: _ca, ...noCa } = tlsEnv();
    await expect(connectWith(noCa)).rejects.toThrow(/certificate/i);
    const other = join(dir.path, "other.nk");
    writeFileSync(other, new TextDecoder().decode(nkeys.createUser().getSeed()));
    await expect(connectWith({ ...tlsEnv(), NATS_NKEY_SEED_FILE: other })).rejects.toThrow(/Authorization Violation/);
  });

  it("nats config - conflicting or half-set NATS settings fail at start with a clear error that hides the password", () => {
    const load = (env: Record<string, string>) => () => natsSecurity(loadConfig(natsSpec, env), "agent");
    expect(load({ NATS_USER: "agent", NATS_PASSWORD: "s3cret-pw", NATS_NKEY_SEED_FILE: seedFile })).toThrow(
      /NATS_NKEY_SEED_FILE and NATS_USER: set only one way/,
    );
    expect(load({ NATS_PASSWORD: "s3cret-pw" })).toThrow(/NATS_PASSWORD=\(secret\): needs NATS_USER/);
    expect(load({ NATS_CERT: pki.client.certFile })).toThrow(/NATS_CERT and NATS_KEY go together/);
    expect(() => loadConfig(natsSpec, { NATS_CA: join(dir.path, "missing.pem") })).toThrow(/NATS_CA=.*cannot read .*ENOENT/);
    expect(() => loadConfig(natsSpec, { NATS_INBOX_PREFIX: "_INBOX.>" })).toThrow(/no wildcards/);
    try {
      load({ NATS_PASSWORD: "s3cret-pw" })();
    } catch (err) {
      expect((err as Error).message).not.toContain("s3cret-pw");
    }
    expect(natsSecurity(loadConfig(natsSpec, {}), "doppler")).toEqual({ inboxPrefix: "_INBOX_doppler" });
    expect(natsSecurity({ ...loadConfig(natsSpec, {}), NATS_URL: "tls://nats:4222" }, "agent")).toMatchObject({ tls: true });
  });
});
