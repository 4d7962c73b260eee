/**
 * P1 soft-token issuance (US 9,413,753), concretely: the secure element, the device, the ID
 * token, the user computer, the service computer and a relying party, and the soft token (a JWS
 * with an RFC 7800 `cnf` key). See spec/soft-token/SPEC.md.
 */
export * from "./device.ts"
export * from "./id-token.ts"
export * from "./relying-party.ts"
export * from "./secure-element.ts"
export * from "./service.ts"
export * from "./store.ts"
export * from "./token.ts"
export * from "./user-computer.ts"
