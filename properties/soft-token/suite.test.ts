/** P1 soft-token: the standard tests (properties/harness/suite-tests.ts). */
import { suiteTests } from "../harness/suite-tests.ts"
import { softToken } from "./definition.ts"

suiteTests(softToken)
