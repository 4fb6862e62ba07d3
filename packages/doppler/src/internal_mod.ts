export { resolveAccess } from "./access.js";
export { readRecent } from "./egress/recent.js";
export { Tail } from "./egress/tail.js";
export { matches, parseEnvelopeTypes, parseFilters } from "./filters.js";
export { createDrainsApi, type DrainsApi, type DrainsApiDeps } from "./http/drains.js";
export { Feed, FeedHub, FeedItem } from "./ingress/feed.js";
export * from "./mod.js";
export { AppRegistry } from "./store/apps.js";
export { ensureDataStream } from "./store/stream.js";
