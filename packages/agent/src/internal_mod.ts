export { FairBuffer } from "./buffer/fair.js";
export { AppClaims } from "./egress/claims.js";
export { boundary, LineSplitter } from "./ingress/lines.js";
export * from "./mod.js";
