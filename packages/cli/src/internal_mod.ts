// What sibling packages and tests may use: everything public, and (when there is any) what only they need.

// The follow loop of `tailrace logs --follow`, for drills that run many followers in one process.
export type { FollowOptions } from "./client.js";
export { followLogs } from "./commands/logs.js";
export * from "./mod.js";
export type { ClientSettings } from "./settings.js";
