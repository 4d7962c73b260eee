/**
 * The registry: the one place that lists the protocols. The audit's suites, the CLI's protocol
 * names and the worker threads' suites all come from here.
 */
import type { ProtocolDefinition } from "../properties/definition.ts"
import { makeSuite } from "../properties/harness/suite-kit.ts"
import { cpkPayment } from "../properties/cpk-payment/definition.ts"
import { hwToken2fa } from "../properties/hw-token-2fa/definition.ts"
import { rollingKey } from "../properties/rolling-key/definition.ts"
import { seChannel } from "../properties/se-channel/definition.ts"
import { softToken } from "../properties/soft-token/definition.ts"
import { splitLogin } from "../properties/split-login/definition.ts"
import type { ProtocolSuite } from "../properties/suite.ts"

export const definitions: ReadonlyArray<ProtocolDefinition> = [rollingKey, softToken, hwToken2fa, cpkPayment, splitLogin, seChannel]

export const suites: ReadonlyArray<ProtocolSuite> = definitions.map(makeSuite)
