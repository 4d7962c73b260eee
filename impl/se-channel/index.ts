/** P2a se-channel: the participants (SecureElement, Server, browser platform), certificates, keys, records. */
export * from "./browser.ts"
export * from "./certs.ts"
export * from "./deployment.ts"
export * from "./keys.ts"
export * from "./records.ts"
export * from "./secure-element.ts"
export * from "./server.ts"
export * from "./store.ts"
