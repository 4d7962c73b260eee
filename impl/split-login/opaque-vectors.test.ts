/**
 * `@serenity-kit/opaque` (opaque-ke 4.0.1 in WASM) cross-checked against RFC 9807, in two steps,
 * because the package cannot take RFC 9807's vectors itself (no deterministic entry points,
 * Argon2id always):
 *
 * 1. ./opaque-reference.ts, a test-only OPAQUE-3DH written from the RFC on @noble, reproduces
 *    RFC 9807 Appendix C (./rfc9807-vectors.json: C.1.1, C.1.2, C.2.1, KSF = Identity) byte for
 *    byte: every output and every intermediate value the vectors list.
 * 2. The package runs (through our `Opaque` service, and directly for what the service hides) on
 *    a recording `SecureRandom`; the reference then recomputes every message and key from the same
 *    inputs, the bytes the package drew and the package's Argon2id parameters, and they must be
 *    equal. The draw schedule is asserted too (`SCHEDULE`): a package that draws differently fails
 *    here by name, not as a mismatch further down.
 *
 * How opaque-ke turns its draws into protocol values (found from the package's behaviour, checked
 * against the opaque-ke source, and confirmed by the equalities below):
 * - a 64-byte draw reduced mod ℓ (little-endian, curve25519-dalek's `Scalar::random`) is each OPRF
 *   blind (voprf's `random_scalar`) and each long-term key (`KeyPair::random`): the server's AKE key
 *   and the key whose public half fills the fake records of unknown users;
 * - a 32-byte draw is a key-share seed for DeriveDiffieHellmanKeyPair (RFC 9807 §6.4.1.1) or a nonce;
 *   opaque-ke draws the key-share seed before the nonce (the RFC's pseudocode lists the nonce first);
 * - every server login draws 64 bytes for a fake record's masking key first, whether or not the
 *   user exists (so both paths cost the same), then the masking nonce, key-share seed, server nonce;
 * - this build serialises ServerSetup as oprf_seed ‖ server private key ‖ the fake-record key's
 *   PUBLIC half (some opaque-ke sources serialise its private half there).
 * RFC 9807 leaves how the server's long-term key and the blind are sampled to the implementation;
 * everything the RFC does fix matches.
 */
import * as opaque from "@serenity-kit/opaque"
import { readFileSync } from "node:fs"
import { ristretto255 } from "@noble/curves/ed25519.js"
import { bytesToNumberLE } from "@noble/curves/utils.js"
import { concatBytes, utf8ToBytes } from "@noble/hashes/utils.js"
import { Effect, Layer } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { runs } from "../../properties/harness/config.ts"
import { Labels } from "../../spec/split-login/messages.ts"
import { SecureRandomSeeded } from "../crypto/random.ts"
import { SecureRandom } from "../crypto/services.ts"
import { flipBit } from "../crypto/testing.ts"
import { hex, toHex } from "../crypto/vectors.ts"
import { KeyStretching, makeOpaque, withRandomness } from "./opaque.ts"
import * as Ref from "./opaque-reference.ts"

// --- 1. the reference against RFC 9807 Appendix C ------------------------------------------------

interface Vector {
  readonly name: string
  readonly configuration: Readonly<Record<string, string>>
  readonly inputs: Readonly<Record<string, string>>
  readonly intermediates?: Readonly<Record<string, string>>
  readonly outputs: Readonly<Record<string, string>>
}
const { vectors } = JSON.parse(readFileSync(new URL("./rfc9807-vectors.json", import.meta.url), "utf8")) as { readonly vectors: ReadonlyArray<Vector> }

/** A vector's hex field as bytes; a missing field is a broken vector file, not an absent identity. */
const field = (values: Readonly<Record<string, string>>, name: string): Uint8Array => {
  const value = values[name]
  if (value === undefined) throw new Error(`vector field ${name} missing`)
  return hex(value)
}
const optional = (values: Readonly<Record<string, string>>, name: string) => (values[name] === undefined ? undefined : hex(values[name]))

/** Everything the reference computes for a real vector, under the names the RFC gives them. */
const replayRealVector = (v: Vector): Record<string, Uint8Array> => {
  const input = (name: string) => field(v.inputs, name)
  const config: Ref.Config = { context: field(v.configuration, "Context"), ksf: Ref.identityKsf }
  const ids: Ref.Identities = { client: optional(v.inputs, "client_identity"), server: optional(v.inputs, "server_identity") }
  const password = input("password")
  const blindRegistration = Ref.scalarFromBytes(input("blind_registration"))
  const request = Ref.createRegistrationRequest(password, blindRegistration)
  const response = Ref.createRegistrationResponse(request, input("server_public_key"), input("credential_identifier"), input("oprf_seed"))
  const registered = Ref.finalizeRegistrationRequest(config, password, blindRegistration, response, ids, input("envelope_nonce"))
  const client = Ref.generateKE1(password, Ref.scalarFromBytes(input("blind_login")), input("client_nonce"), input("client_keyshare_seed"))
  const server = Ref.generateKE2(
    config,
    { serverPrivateKey: input("server_private_key"), serverPublicKey: input("server_public_key"), oprfSeed: input("oprf_seed"), credentialIdentifier: input("credential_identifier"), record: registered.record },
    ids,
    client.ke1,
    { maskingNonce: input("masking_nonce"), serverNonce: input("server_nonce"), serverKeyshareSeed: input("server_keyshare_seed") }
  )
  const finished = Ref.generateKE3(config, client, ids, server.ke2)
  return {
    registration_request: request,
    registration_response: response,
    registration_upload: registered.record,
    KE1: client.ke1,
    KE2: server.ke2,
    KE3: finished.ke3,
    export_key: finished.exportKey,
    session_key: finished.sessionKey,
    server_session_key: Ref.serverFinish(server, finished.ke3),
    client_public_key: registered.record.subarray(0, Ref.Npk),
    auth_key: registered.authKey,
    randomized_password: registered.randomizedPassword,
    envelope: registered.record.subarray(Ref.Npk + Ref.Nh),
    handshake_secret: server.keys.handshakeSecret,
    server_mac_key: server.keys.serverMacKey,
    client_mac_key: server.keys.clientMacKey,
    oprf_key: Ref.oprfKey(input("oprf_seed"), input("credential_identifier"))
  }
}

/** Each listed value against the reference's, by name, so a mismatch says which. */
const expectListed = (listed: Readonly<Record<string, string>>, computed: Record<string, Uint8Array>) => {
  for (const [name, value] of Object.entries(listed)) expect(toHex(computed[name] ?? new Uint8Array(0)), name).toBe(value)
}

const realVectors = vectors.filter((v) => v.name.includes("Real"))
const fakeVectors = vectors.filter((v) => v.name.includes("Fake"))

describe("the OPAQUE reference reproduces RFC 9807 Appendix C (ristretto255-SHA512, KSF = Identity)", () => {
  it("the vector file holds the three ristretto255 vectors, two real (without and with identities) and one fake", () => {
    expect(vectors.map((v) => v.name)).toEqual(["C.1.1 OPAQUE-3DH Real Test Vector 1", "C.1.2 OPAQUE-3DH Real Test Vector 2", "C.2.1 OPAQUE-3DH Fake Test Vector 1"])
    expect(vectors.every((v) => v.configuration["Group"] === "ristretto255" && v.configuration["KSF"] === "Identity")).toBe(true)
  })

  for (const v of realVectors) {
    it(`${v.name}: all ${Object.keys(v.outputs).length} outputs, and the server's session key`, () => {
      const computed = replayRealVector(v)
      expectListed(v.outputs, computed)
      expect(toHex(computed["server_session_key"]!)).toBe(v.outputs["session_key"])
    })
    it(`${v.name}: all ${Object.keys(v.intermediates ?? {}).length} intermediate values`, () => {
      expectListed(v.intermediates ?? {}, replayRealVector(v))
    })
  }

  for (const v of fakeVectors) {
    it(`${v.name}: KE2 for an unregistered client (§6.3.2.2 fake record)`, () => {
      const input = (name: string) => field(v.inputs, name)
      const server = Ref.generateKE2(
        { context: field(v.configuration, "Context"), ksf: Ref.identityKsf },
        {
          serverPrivateKey: input("server_private_key"),
          serverPublicKey: input("server_public_key"),
          oprfSeed: input("oprf_seed"),
          credentialIdentifier: input("credential_identifier"),
          record: Ref.fakeRecord(input("client_public_key"), input("masking_key"))
        },
        { client: input("client_identity"), server: input("server_identity") },
        input("KE1"),
        { maskingNonce: input("masking_nonce"), serverNonce: input("server_nonce"), serverKeyshareSeed: input("server_keyshare_seed") }
      )
      expect(toHex(server.ke2)).toBe(v.outputs["KE2"])
    })
  }

  it("the reference refuses what RFC 9807 refuses: a wrong password, an edited server MAC, an edited KE3", () => {
    const v = realVectors[0]!
    const input = (name: string) => field(v.inputs, name)
    const config: Ref.Config = { context: field(v.configuration, "Context"), ksf: Ref.identityKsf }
    const ke1For = (password: Uint8Array) => Ref.generateKE1(password, Ref.scalarFromBytes(input("blind_login")), input("client_nonce"), input("client_keyshare_seed"))
    const wrong = ke1For(utf8ToBytes("not the password"))
    expect(() => Ref.generateKE3(config, wrong, {}, field(v.outputs, "KE2"))).toThrow("EnvelopeRecoveryError")
    const right = ke1For(input("password"))
    const ke2 = field(v.outputs, "KE2")
    expect(() => Ref.generateKE3(config, right, {}, flipBit(ke2, 8 * ke2.length - 1))).toThrow("ServerAuthenticationError")
    const server: Ref.ServerState = { ke2, expectedClientMac: field(v.outputs, "KE3"), keys: { handshakeSecret: new Uint8Array(0), serverMacKey: new Uint8Array(0), clientMacKey: new Uint8Array(0), sessionKey: field(v.outputs, "session_key") } }
    expect(() => Ref.serverFinish(server, flipBit(field(v.outputs, "KE3"), 0))).toThrow("ClientAuthenticationError")
  })
})

// --- 2. the package against the reference, on the bytes it drew ----------------------------------

/** opaque-ke 4.0.1's draws, call by call, in bytes (see the header for what each becomes). */
const SCHEDULE = {
  createSetup: [64, 64, 64], // server AKE key, oprf_seed, fake-record key
  startRegistration: [64], // blind
  createRegistrationResponse: [],
  finishRegistration: [32], // envelope_nonce
  startLogin: [64, 32, 32], // blind, client_keyshare_seed, client_nonce
  startServerLogin: [64, 32, 32, 32], // fake-record masking key, masking_nonce, server_keyshare_seed, server_nonce
  finishLogin: [],
  finishServerLogin: []
} as const

/** curve25519-dalek's `Scalar::random`: 64 bytes, little-endian, reduced mod ℓ. */
const wideScalar = (bytes: Uint8Array): bigint => bytesToNumberLE(bytes) % ristretto255.Point.Fn.ORDER
const scalarBytes = (scalar: bigint) => ristretto255.Point.Fn.toBytes(scalar)

/** A seeded `SecureRandom` that keeps what it hands out; `take` returns the draws since the last call and checks their sizes. */
const recorder = (seed: number) => {
  const source = Effect.runSync(Effect.provide(SecureRandom, SecureRandomSeeded(seed)))
  const drawn: Array<Uint8Array> = []
  const draw = (n: number): Uint8Array => {
    const bytes = Effect.runSync(source.bytes(n))
    drawn.push(bytes)
    return bytes
  }
  return {
    draw,
    layer: Layer.succeed(SecureRandom, SecureRandom.of({ bytes: (n) => Effect.sync(() => draw(n)) })),
    take: (...sizes: ReadonlyArray<number>): Array<Uint8Array> => {
      const taken = drawn.splice(0)
      expect(taken.map((b) => b.length), "the package's draw schedule").toEqual(sizes)
      return taken
    }
  }
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url")
const unb64 = (text: string) => new Uint8Array(Buffer.from(text, "base64url"))

/** The package's KSF as the worlds configure it, rendered by the reference. */
const stretching = KeyStretching.light
const config: Ref.Config = { context: new Uint8Array(0), ksf: Ref.argon2idKsf(stretching["argon2id-custom"]) }

/** The server's long-term values from its setup draws. */
const serverFromDraws = ([staticKey, oprfSeed, fakeKey]: ReadonlyArray<Uint8Array>) => {
  const serverPrivateKey = scalarBytes(wideScalar(staticKey!))
  return { serverPrivateKey, serverPublicKey: Ref.publicKeyOf(serverPrivateKey), oprfSeed: oprfSeed!, fakePublicKey: Ref.publicKeyOf(scalarBytes(wideScalar(fakeKey!))) }
}
type Server = ReturnType<typeof serverFromDraws>

/** A server login's draws: a fake record's masking key (drawn whether or not the user exists), then GenerateKE2's three. */
const serverLoginDraws = ([fakeMaskingKey, maskingNonce, serverKeyshareSeed, serverNonce]: ReadonlyArray<Uint8Array>) => ({
  fakeMaskingKey: fakeMaskingKey!,
  random: { maskingNonce: maskingNonce!, serverKeyshareSeed: serverKeyshareSeed!, serverNonce: serverNonce! }
})

/** The reference's registration, login and fake login for `username` from the draws of each step. */
const referenceFlow = (
  server: Server,
  username: string,
  password: string,
  ids: Ref.Identities,
  draws: { readonly register: ReadonlyArray<Uint8Array>; readonly clientStart: ReadonlyArray<Uint8Array>; readonly serverStart: ReadonlyArray<Uint8Array> }
) => {
  const pw = utf8ToBytes(password)
  const cid = utf8ToBytes(username)
  const [registrationBlind, envelopeNonce] = draws.register
  const request = Ref.createRegistrationRequest(pw, wideScalar(registrationBlind!))
  const response = Ref.createRegistrationResponse(request, server.serverPublicKey, cid, server.oprfSeed)
  const registered = Ref.finalizeRegistrationRequest(config, pw, wideScalar(registrationBlind!), response, ids, envelopeNonce!)
  const [loginBlind, clientKeyshareSeed, clientNonce] = draws.clientStart
  const client = Ref.generateKE1(pw, wideScalar(loginBlind!), clientNonce!, clientKeyshareSeed!)
  const inputs = { ...server, credentialIdentifier: cid, record: registered.record }
  const serverState = Ref.generateKE2(config, inputs, ids, client.ke1, serverLoginDraws(draws.serverStart).random)
  const finished = Ref.generateKE3(config, client, ids, serverState.ke2)
  /** KE2 for the same KE1 when `username` has no record, from that login's draws: the fake record of §6.3.2.2. */
  const fakeKe2 = (serverStart: ReadonlyArray<Uint8Array>) => {
    const { fakeMaskingKey, random } = serverLoginDraws(serverStart)
    return Ref.generateKE2(config, { ...inputs, record: Ref.fakeRecord(server.fakePublicKey, fakeMaskingKey) }, ids, client.ke1, random).ke2
  }
  return { request, response, registered, client, serverState, finished, fakeKe2 }
}

/** Seeded runs per check: each is a full registration and login on both sides (~0.2 s); AUTHLAB_RUNS lowers it. */
const SEEDS = Math.min(runs, 10)

const username = "alice"
const password = "correct horse battery staple"
const serviceIds: Ref.Identities = { client: utf8ToBytes(username), server: utf8ToBytes(Labels.server) }

describe("@serenity-kit/opaque equals the reference on the bytes it drew (Argon2id as the worlds configure it)", () => {
  it(`through the Opaque service: setup, record, KE1, KE2, KE3, both session keys, and KE2 for an unknown user (${SEEDS} seeds)`, () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const random = recorder(seed)
        const service = Effect.runSync(Effect.provide(makeOpaque(stretching), random.layer))
        const setup = Effect.runSync(service.createSetup())
        const server = serverFromDraws(random.take(...SCHEDULE.createSetup))
        expect(toHex(unb64(setup.encoded)), "ServerSetup").toBe(toHex(concatBytes(server.oprfSeed, server.serverPrivateKey, server.fakePublicKey)))

        const record = Effect.runSync(service.register(setup, username, password))
        const register = random.take(...SCHEDULE.startRegistration, ...SCHEDULE.createRegistrationResponse, ...SCHEDULE.finishRegistration)
        const started = Effect.runSync(service.clientStart(username, password))
        const clientStart = random.take(...SCHEDULE.startLogin)
        const challenged = Effect.runSync(service.serverStart(setup, username, record, started.ke1))
        const serverStart = random.take(...SCHEDULE.startServerLogin)
        const finished = Effect.runSync(service.clientFinish(started.state, challenged.ke2, password))
        const serverKey = Effect.runSync(service.serverFinish(challenged.state, finished.ke3))
        random.take(...SCHEDULE.finishLogin, ...SCHEDULE.finishServerLogin)

        const expected = referenceFlow(server, username, password, serviceIds, { register, clientStart, serverStart })
        expect(toHex(record), "record").toBe(toHex(expected.registered.record))
        expect(toHex(started.ke1), "KE1").toBe(toHex(expected.client.ke1))
        expect(toHex(challenged.ke2), "KE2").toBe(toHex(expected.serverState.ke2))
        expect(toHex(finished.ke3), "KE3").toBe(toHex(expected.finished.ke3))
        expect(toHex(finished.sessionKey), "client session key").toBe(toHex(expected.finished.sessionKey))
        expect(toHex(serverKey), "server session key").toBe(toHex(Ref.serverFinish(expected.serverState, expected.finished.ke3)))

        // the same KE1 for a user with no record: the fake response, from the next login's draws
        const unknown = Effect.runSync(service.serverStart(setup, username, undefined, started.ke1))
        const fakeDraws = random.take(...SCHEDULE.startServerLogin)
        expect(toHex(unknown.ke2), "KE2 for an unknown user").toBe(toHex(expected.fakeKe2(fakeDraws)))
      }),
      { numRuns: SEEDS }
    )
  })

  for (const withIdentities of [true, false]) {
    it(`directly: registration request, response, record, export keys and the login ${withIdentities ? "with the service's identities" : "without identities (RFC 9807 §4: the public keys stand in)"} (${SEEDS} seeds)`, () => {
      const identifiers = withIdentities ? { client: username, server: Labels.server } : undefined
      const ids: Ref.Identities = withIdentities ? serviceIds : {}
      fc.assert(
        fc.property(fc.integer(), (seed) => {
          const random = recorder(seed)
          const run = <A>(f: () => A): A => withRandomness(random.draw, f)
          const serverSetup = run(() => opaque.server.createSetup())
          const server = serverFromDraws(random.take(...SCHEDULE.createSetup))
          const start = run(() => opaque.client.startRegistration({ password }))
          const registrationBlind = random.take(...SCHEDULE.startRegistration)
          const { registrationResponse } = run(() => opaque.server.createRegistrationResponse({ serverSetup, userIdentifier: username, registrationRequest: start.registrationRequest }))
          random.take(...SCHEDULE.createRegistrationResponse)
          const registered = run(() => opaque.client.finishRegistration({ clientRegistrationState: start.clientRegistrationState, registrationResponse, password, identifiers, keyStretching: stretching }))
          const envelopeNonce = random.take(...SCHEDULE.finishRegistration)
          const login = run(() => opaque.client.startLogin({ password }))
          const clientStart = random.take(...SCHEDULE.startLogin)
          const response = run(() => opaque.server.startLogin({ serverSetup, userIdentifier: username, registrationRecord: registered.registrationRecord, startLoginRequest: login.startLoginRequest, identifiers }))
          const serverStart = random.take(...SCHEDULE.startServerLogin)
          const finished = run(() => opaque.client.finishLogin({ clientLoginState: login.clientLoginState, loginResponse: response.loginResponse, password, identifiers, keyStretching: stretching }))
          if (finished === undefined) throw new Error("the package refused its own login")
          const serverFinished = run(() => opaque.server.finishLogin({ serverLoginState: response.serverLoginState, finishLoginRequest: finished.finishLoginRequest, identifiers }))
          random.take(...SCHEDULE.finishLogin, ...SCHEDULE.finishServerLogin)

          const expected = referenceFlow(server, username, password, ids, { register: [...registrationBlind, ...envelopeNonce], clientStart, serverStart })
          expect(start.registrationRequest, "registration request").toBe(b64(expected.request))
          expect(registrationResponse, "registration response").toBe(b64(expected.response))
          expect(registered.registrationRecord, "registration upload").toBe(b64(expected.registered.record))
          expect(registered.exportKey, "export key at registration").toBe(b64(expected.registered.exportKey))
          expect(login.startLoginRequest, "KE1").toBe(b64(expected.client.ke1))
          expect(response.loginResponse, "KE2").toBe(b64(expected.serverState.ke2))
          expect(finished.finishLoginRequest, "KE3").toBe(b64(expected.finished.ke3))
          expect(finished.exportKey, "export key at login").toBe(b64(expected.finished.exportKey))
          expect(finished.sessionKey, "client session key").toBe(b64(expected.finished.sessionKey))
          expect(finished.serverStaticPublicKey, "server public key").toBe(b64(server.serverPublicKey))
          expect(serverFinished.sessionKey, "server session key").toBe(b64(expected.finished.sessionKey))
        }),
        { numRuns: SEEDS }
      )
    })
  }
})

// --- 3. a stolen record: what a guess costs -------------------------------------------------------

describe("a stolen OPAQUE record (RFC 9807 §10.8): testing a guess needs the server's OPRF key", () => {
  const dictionary = ["123456", "password", "qwerty", "letmein", "dragon", "sunshine", "monkey", "football"]
  const victimPassword = "sunshine"

  it("with the record and the OPRF seed each guess costs an OPRF evaluation and an Argon2id run, and the password is found; with the record alone (any other OPRF key) not even the right password is recognised", () => {
    const random = recorder(2024)
    const service = Effect.runSync(Effect.provide(makeOpaque(stretching), random.layer))
    const setup = Effect.runSync(service.createSetup())
    const server = serverFromDraws(random.take(...SCHEDULE.createSetup))
    const record = Effect.runSync(service.register(setup, username, victimPassword))
    const envelopeNonce = record.subarray(Ref.Npk + Ref.Nh, Ref.Npk + Ref.Nh + Ref.Nn)

    // The attacker plays both halves of registration for the guess, with blind 1 and the record's
    // own envelope nonce, under the OPRF seed it believes the server uses: the record comes out
    // again exactly when the guess and the seed are right.
    const recognises = (oprfSeed: Uint8Array) => (guess: string): boolean => {
      const pw = utf8ToBytes(guess)
      const response = Ref.createRegistrationResponse(Ref.createRegistrationRequest(pw, 1n), server.serverPublicKey, utf8ToBytes(username), oprfSeed)
      return toHex(Ref.finalizeRegistrationRequest(config, pw, 1n, response, serviceIds, envelopeNonce).record) === toHex(record)
    }

    // costs in CPU time (single-threaded work; the wall clock counts the other tenants of a shared machine)
    const cpuMs = (f: () => void): number => {
      const before = process.cpuUsage()
      f()
      const spent = process.cpuUsage(before)
      return (spent.user + spent.system) / 1000
    }
    let found: Array<string> = []
    const perGuess = cpuMs(() => (found = dictionary.filter(recognises(server.oprfSeed)))) / dictionary.length
    expect(found).toEqual([victimPassword])

    // Without the server's seed the attacker must pick one: with any other, the record does not come out, not even for the right password.
    const otherSeeds = [0, 1, 2].map(() => random.draw(Ref.Nh))
    for (const seed of otherSeeds) expect(dictionary.filter(recognises(seed))).toEqual([])

    // the KSF alone, on an OPRF output's length, as many times
    const perKsf = cpuMs(() => dictionary.forEach(() => config.ksf(new Uint8Array(Ref.Nh)))) / dictionary.length
    const { iterations, memory, parallelism } = stretching["argon2id-custom"]
    console.info(`stolen-record dictionary attack: ${perGuess.toFixed(1)} ms CPU per guess with the OPRF key, of which Argon2id (t=${iterations}, m=${memory} KiB, p=${parallelism}) ${perKsf.toFixed(1)} ms; 0 of ${dictionary.length} recognised under each of ${otherSeeds.length} wrong keys`)
  })
})
