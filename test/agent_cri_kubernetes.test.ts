/**
 * CRI logs placed by Kubernetes labels (TAILRACE_KUBERNETES_API): the namespace's `tailrace.tenant` and the pod's
 * `tailrace.app`/`tailrace.process`, read over HTTPS with a service account token and CA from a loopback server that
 * answers as the API server does (the real one does not run here).
 */
import { once } from "node:events";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { CriContainer, makeTestPki, type TempDir, tempDir, testToken, waitFor } from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lines, logsOf, openTails, startAgent, type TestAgent } from "./agent_helpers.js";
import { type Stack, startStack } from "./helpers.js";

const UID = "5f0e7a2c-1111-4222-8333-944455556666";
const LATE_UID = "77777777-aaaa-4bbb-8ccc-dddddddddddd";

describe("agent CRI logs with Kubernetes labels", () => {
  let stack: Stack;
  let tmp: TempDir;
  let agent: TestAgent;
  let api: Server;
  const asked: string[] = [];
  let lateAnswers = 503;

  beforeAll(async () => {
    stack = await startStack();
    tmp = await tempDir("tailrace-k8s-labels-");
    const pki = await makeTestPki(join(tmp.path));
    const sa = join(tmp.path, "sa");
    mkdirSync(sa);
    writeFileSync(join(sa, "token"), "agent-token\n");
    writeFileSync(join(sa, "ca.crt"), pki.ca);
    const objects: Record<string, object> = {
      "/api/v1/namespaces/team-k": { metadata: { name: "team-k", labels: { "tailrace.tenant": "acme" } } },
      "/api/v1/namespaces/team-k/pods/api-0": {
        metadata: { name: "api-0", uid: UID, labels: { "tailrace.app": "shop", "tailrace.process": "worker", "tailrace.tenant": "evil" } },
      },
      "/api/v1/namespaces/team-k/pods/late-0": { metadata: { name: "late-0", uid: LATE_UID, labels: {} } },
    };
    api = createServer({ cert: pki.server.cert, key: pki.server.key }, (req, res) => {
      asked.push(`${req.url} ${req.headers.authorization}`);
      const body = objects[req.url ?? ""];
      if (req.url?.endsWith("/late-0") && lateAnswers !== 200) return res.writeHead(lateAnswers).end();
      if (!body) return res.writeHead(404, { "content-type": "application/json" }).end('{"kind":"Status","code":404}');
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
    });
    api.listen(0, "127.0.0.1");
    await once(api, "listening");
    mkdirSync(join(tmp.path, "pods"));
    agent = await startAgent(stack, {
      TAILRACE_CRI_DIR: join(tmp.path, "pods"),
      TAILRACE_KUBERNETES_API: `https://localhost:${(api.address() as AddressInfo).port}`,
      TAILRACE_KUBERNETES_SA_DIR: sa,
      TAILRACE_METRICS_INTERVAL: "1h",
    });
  });
  afterAll(async () => {
    await agent?.stop();
    await stack?.stop();
    api?.close();
    await tmp?.remove();
  });

  it("cri - the namespace's label names the tenant and the pod's labels the app and process; a pod's own tenant label is ignored", async () => {
    const tails = await openTails(stack, ["shop"], await testToken({ tenant: "acme" }));
    const evil = await openTails(stack, ["shop"], await testToken({ tenant: "evil" }));
    new CriContainer(join(tmp.path, "pods"), "team-k", "api-0", UID, "web").write(["one", "two"]);
    const tail = tails.get("shop")!;
    await waitFor("both lines in acme/shop", () => lines(tail.envelopes).length === 2, 15_000);
    expect(lines(tail.envelopes)).toEqual(["one", "two"]);
    expect(logsOf(tail.envelopes)[0]).toMatchObject({ instanceId: "api-0", tags: { tenant: "acme", source_type: "APP/PROC/WORKER" } });
    expect(asked).toContain("/api/v1/namespaces/team-k/pods/api-0 Bearer agent-token");
    expect(lines(evil.get("shop")!.envelopes)).toEqual([]);
    for (const t of [...tails.values(), ...evil.values()]) t.close();
  });

  it("cri - while the API server does not answer for a pod, its log waits (nothing placed by the path alone), then is read whole", async () => {
    const tails = await openTails(stack, ["late"], await testToken({ tenant: "acme" }));
    new CriContainer(join(tmp.path, "pods"), "team-k", "late-0", LATE_UID, "late").write(["early", "lines"]);
    await waitFor("the agent to ask for late-0 a few times", () => asked.filter((a) => a.includes("/late-0")).length >= 3, 10_000);
    const tail = tails.get("late")!;
    expect(lines(tail.envelopes)).toEqual([]);
    lateAnswers = 200;
    await waitFor("the lines of late-0", () => lines(tail.envelopes).length === 2, 15_000);
    expect(lines(tail.envelopes)).toEqual(["early", "lines"]);
    expect(logsOf(tail.envelopes)[0]?.tags).toMatchObject({ tenant: "acme", source_type: "APP/PROC/WEB" });
    tail.close();
  });
});
