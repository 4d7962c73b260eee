import { suiteTests } from "../harness/suite-tests.ts"
import { splitLogin } from "./definition.ts"

suiteTests(splitLogin)
