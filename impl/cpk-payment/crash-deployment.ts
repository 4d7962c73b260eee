/**
 * The deployment the P4 crash test and its child share (crash.test.ts, crash-child.ts): one KMC
 * made out of band from a fixed label, so two processes derive the same keys. Not used by the
 * implementation.
 */
import { hardened } from "../../spec/cpk-payment/variants.ts"
import { deploymentOf } from "./deployment.ts"
import { makeDirectory, makeKmc } from "./keys.ts"

export const CRASH_SUBDOMAIN = "pay"
const deployment = () => deploymentOf({ rows: 4, columns: 4 }, [CRASH_SUBDOMAIN], "crash")

export const crashDirectory = () => makeDirectory({ policy: hardened, parameters: deployment().parameters, subdomains: [CRASH_SUBDOMAIN] })
export const crashKmc = () => makeKmc({ policy: hardened, deployment: deployment() })
