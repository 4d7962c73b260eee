/**
 * P2a browser platform (SPEC.md §Steps 1–3): the user opens a page; the page's web application
 * hands the SE the application certificate its server gave it, with the identity data. In
 * `claimed` the page states the data (so any page can state any origin's); in `hardened` the
 * platform states the origin and TLS certificate hash of the connection the page was loaded
 * over, and MACs them with the key it shares with the SE — the page cannot write that field.
 */
import { Effect } from "effect"
import { SeHello } from "../../spec/se-channel/messages.ts"
import type { Policy } from "../../spec/se-channel/variants.ts"
import { Crypto } from "../crypto/services.ts"
import type { AppCert, IdentityData } from "./certs.ts"
import { platformInput } from "./secure-element.ts"

export interface BrowserOptions {
  readonly policy: Policy
  readonly pairingKey: Uint8Array
}

/** The SeHello of a visit to a page served over a connection with identity `data`, whose app got `cert`. */
export const makeBrowser = (options: BrowserOptions) => ({
  visit: (data: IdentityData, cert: AppCert): Effect.Effect<Uint8Array, never, Crypto> =>
    Effect.map(
      options.policy.identityFrom === "platform" ? Effect.flatMap(Crypto, (c) => c.hmacSha256(options.pairingKey, platformInput(data))) : Effect.succeed(new Uint8Array(0)),
      (platformTag) => SeHello.encode(SeHello.make({ ...cert, ...data, platformTag }))
    )
})

export type Browser = ReturnType<typeof makeBrowser>
