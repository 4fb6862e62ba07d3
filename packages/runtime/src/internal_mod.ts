// What sibling packages and tests may use: everything public, and what only they need.
export * from "./mod.js";
export { MonotonicSum } from "./telemetry_sum.js";
