// What sibling packages and tests may use: everything public, and (when there is any) what only they need.
export * from "./mod.js";
