/**
 * The crypto services (`services.ts`) and their layers: `CryptoNoble` and `CryptoNode`
 * (HMAC-SHA256, HKDF-SHA256, X25519, P-256 ECDH/ECDSA, Ed25519, AES-GCM, ChaCha20-Poly1305), and
 * the system and seeded `SecureRandom` layers.
 */
export * from "./services.ts"
export { constantTimeEqual } from "./bytes.ts"
export { CryptoNoble } from "./noble.ts"
export { CryptoNode } from "./node.ts"
export { SecureRandomSeeded, SecureRandomSystem } from "./random.ts"
