// Builds the page in src/web into dist/web, which the server side (src/assets.ts) serves. No inline script or style
// ends up in the output, so the strict Content-Security-Policy holds.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

export default defineConfig({
  root: fileURLToPath(new URL("./src/web", import.meta.url)),
  base: "/",
  publicDir: false,
  build: {
    outDir: fileURLToPath(new URL("./dist/web", import.meta.url)),
    emptyOutDir: true,
    assetsDir: "assets",
    // Small assets stay files: a data: URL would need img-src/font-src data: in the policy.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: "es2022",
  },
  server: {
    // `pnpm --filter @tailrace/console dev` proxies the API to a doppler (TAILRACE_API, default :8080).
    proxy: {
      "/api": process.env.TAILRACE_API ?? "http://127.0.0.1:8080",
      "/v1": { target: process.env.TAILRACE_API ?? "http://127.0.0.1:8080", ws: true },
    },
  },
});
