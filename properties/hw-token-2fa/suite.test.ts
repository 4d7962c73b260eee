/** P3 hw-token-2fa: the standard tests (properties/harness/suite-tests.ts). */
import { suiteTests } from "../harness/suite-tests.ts"
import { hwToken2fa } from "./definition.ts"

suiteTests(hwToken2fa)
