/** P3 hw-token-2fa participants as Effect services over in-memory stores; both variants by `Policy`. */
export * from "./auth-server.ts"
export * from "./device.ts"
export * from "./resource-server.ts"
export * from "./store.ts"
export * from "./token.ts"
