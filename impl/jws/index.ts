/** JWS compact (RFC 7515) sign / verify for EdDSA (Ed25519) and ES256, over the `Crypto` service. */
export * from "./jws.ts"
