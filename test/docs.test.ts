import { readdirSync, readFileSync } from "node:fs";
import { knownSettings } from "@tailrace/cli";
import { DEFAULT_PORTS } from "@tailrace/drainer";
import { describe, expect, it } from "vitest";

const doc = (name: string) => readFileSync(new URL(`../docs/${name}`, import.meta.url), "utf8");

describe("docs", () => {
  it("docs - every setting the code knows is documented in docs/CONFIGURATION.md", () => {
    const text = doc("CONFIGURATION.md");
    const missing = knownSettings.filter((k) => !text.includes(`\`${k}\``));
    expect(missing, "run node scripts/config-doc.mjs and update docs/CONFIGURATION.md").toEqual([]);
  });

  it("docs - the README names the two commands and they exist in package.json", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { scripts: Record<string, string> };
    expect(readme).toContain("npm start");
    expect(readme).toContain("npm test");
    expect(pkg.scripts.start).toMatch(/bootstrap\.sh.*tailrace up/);
    expect(pkg.scripts.test).toMatch(/bootstrap\.sh --test/);
  });

  it('docs - the README\'s "Where to go next" names every page in docs/', () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const next = readme.slice(readme.indexOf("## Where to go next"));
    const pages = readdirSync(new URL("../docs/", import.meta.url)).filter((f) => f.endsWith(".md"));
    expect(pages).toContain("OTLP.md");
    expect(pages.filter((p) => !next.includes(`(docs/${p})`))).toEqual([]);
  });

  it("docs - every drain scheme the parser takes has a row in docs/DRAINS.md and is explained in docs/OTLP.md when it is OTLP", () => {
    const drains = doc("DRAINS.md");
    const otlp = doc("OTLP.md");
    for (const scheme of Object.keys(DEFAULT_PORTS)) {
      expect(drains, scheme).toMatch(new RegExp(`^\\| \`${scheme.replace("+", "\\+")}://`, "m"));
      if (scheme.startsWith("otlp")) expect(otlp).toContain(`${scheme}://`);
    }
    for (const topic of ["header-", "/v1/logs", "/v1/metrics", "partial_success", "Retry-After", "TAILRACE_DRAIN_ALLOW_PLAIN_OTLP"]) {
      expect(otlp, topic).toContain(topic);
    }
    expect(otlp).toContain("(AGENT.md#otlphttp-post-v1logs-post-v1metrics-on-the-same-port)");
    expect(doc("AGENT.md")).toContain("### OTLP/HTTP (`POST /v1/logs`, `POST /v1/metrics` on the same port)");
  });
});
