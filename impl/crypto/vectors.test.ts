/**
 * The vector tests must not pass by skipping: when AUTHLAB_VECTORS is set (CI sets it), the
 * directory must exist and hold files; a missing file then fails the loader instead of skipping.
 */
import { describe, expect, it } from "vitest"
import { loadVectors, vectorsDirProblem, vectorsRequired } from "./vectors.ts"

describe.runIf(vectorsRequired)("AUTHLAB_VECTORS, when set", () => {
  it("names an existing, non-empty directory", () => {
    expect(vectorsDirProblem()).toBeUndefined()
  })

  it("makes a missing vector file an error, not a skip", () => {
    expect(() => loadVectors("no-such-dir/no-such-file.json", "a missing file")).toThrow(/required/)
  })
})
