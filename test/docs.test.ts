import { readFileSync } from "node:fs";
import { knownSettings } from "@tailrace/cli";
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
});
