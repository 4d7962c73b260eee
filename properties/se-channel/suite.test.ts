import { suiteTests } from "../harness/suite-tests.ts"
import { seChannel } from "./definition.ts"

suiteTests(seChannel)
