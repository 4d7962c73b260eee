/**
 * P5 rolling-key device authentication (NZ624154), concretely: the client, the server, their
 * durable stores, and the shared formulas. See spec/rolling-key/SPEC.md and the P5 design.
 */
export * from "./client.ts"
export * from "./protocol.ts"
export * from "./server.ts"
export * from "./store.ts"
