export { Agent } from "./app.js";
export type { AgentConfig } from "./config.js";
export { agentSpec, loadAgentConfig } from "./config.js";
export { AppOwnedElsewhereError } from "./egress/claims.js";
export type { AppChannel, PublisherOptions, PublisherStats } from "./egress/nats.js";
export { NatsPublisher } from "./egress/nats.js";
export type { ProcessHandle, SupervisedProcess } from "./ingress/process.js";
export { sourceType } from "./ingress/process.js";
