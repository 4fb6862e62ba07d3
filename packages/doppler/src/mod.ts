export { Doppler } from "./app.js";
export type { DopplerConfig } from "./config.js";
export { dopplerSpec, loadDopplerConfig } from "./config.js";
export type { Cursor } from "./cursor.js";
export { formatCursor, InvalidCursorError, parseCursor } from "./cursor.js";
export { ListenError } from "./http/server.js";
