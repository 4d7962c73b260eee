/** The P3 test files' failure explanation: the harness's, for this protocol (properties/harness/explain.ts). */
import type { Counterexample, Subject } from "../suite.ts"
import { explain as explainFor } from "../harness/explain.ts"

export const explain = (property: string, subject: Subject, cx: Counterexample | undefined): string =>
  explainFor("hw-token-2fa", property, subject, cx)
