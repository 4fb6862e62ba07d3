export const SCOPES = ["logs.read", "drains.write", "logs.admin"] as const;
export type Scope = (typeof SCOPES)[number];
