/** P5 rolling-key: the standard tests (properties/harness/suite-tests.ts). */
import { suiteTests } from "../harness/suite-tests.ts"
import { rollingKey } from "./definition.ts"

suiteTests(rollingKey)
