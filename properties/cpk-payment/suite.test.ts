import { suiteTests } from "../harness/suite-tests.ts"
import { cpkPayment } from "./definition.ts"

suiteTests(cpkPayment)
