/**
 * The protocol suites the `authlab` command knows. Adding a protocol to the audit is adding its
 * suite here.
 */
import { hwToken2faSuite } from "../properties/hw-token-2fa/suite.ts"
import { rollingKeySuite } from "../properties/rolling-key/suite.ts"
import { softTokenSuite } from "../properties/soft-token/suite.ts"
import type { ProtocolSuite } from "../properties/suite.ts"

export const suites: ReadonlyArray<ProtocolSuite> = [rollingKeySuite, softTokenSuite, hwToken2faSuite]
