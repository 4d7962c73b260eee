/**
 * Loader for published test vectors (Project Wycheproof, RFC 4226/6238 appendices) kept outside
 * the project, in the directory named by `AUTHLAB_VECTORS` (default `../shared/vectors` next to
 * the project root). Vector files are read in place, never copied into the project.
 *
 * When `AUTHLAB_VECTORS` is not set, a missing file is not an error: the loader says so on stderr
 * and returns `available: false`, and the suite skips with `describe.skipIf(!file.available)`.
 * When it is set (as CI sets it), the vectors were asked for: a missing directory, an empty one or
 * a missing file fails loudly, so a CI run can never pass by skipping them.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs"
import path from "node:path"

const projectRoot = path.resolve(import.meta.dirname, "../..")

/** `AUTHLAB_VECTORS`, resolved against the project root when relative. */
export const vectorsDir: string = path.resolve(projectRoot, process.env.AUTHLAB_VECTORS ?? "../shared/vectors")

/** Whether the vectors were asked for explicitly (then they must be there). */
export const vectorsRequired: boolean = (process.env.AUTHLAB_VECTORS ?? "").trim() !== ""

/** Why the required vectors directory cannot be used, or undefined when it can. */
export const vectorsDirProblem = (): string | undefined => {
  if (!existsSync(vectorsDir)) return `AUTHLAB_VECTORS=${process.env.AUTHLAB_VECTORS} names ${vectorsDir}, which does not exist`
  if (readdirSync(vectorsDir).length === 0) return `AUTHLAB_VECTORS=${process.env.AUTHLAB_VECTORS} names ${vectorsDir}, which is empty`
  return undefined
}

export type Loaded<T> =
  | { readonly available: true; readonly path: string; readonly data: T }
  | { readonly available: false; readonly path: string }

/**
 * Read and parse `relativePath` under `vectorsDir`. `label` names the suite in the skip notice,
 * e.g. `skipping Wycheproof ed25519: … not found`.
 */
export const loadVectors = <T>(relativePath: string, label: string): Loaded<T> => {
  const file = path.join(vectorsDir, relativePath)
  if (!existsSync(file)) {
    const why = existsSync(vectorsDir) ? `${file} not found` : `AUTHLAB_VECTORS dir not found at ${vectorsDir}`
    if (vectorsRequired) throw new Error(`${label}: the vectors are required (AUTHLAB_VECTORS is set) but ${why}`)
    console.warn(`skipping ${label}: ${why}`)
    return { available: false, path: file }
  }
  return { available: true, path: file, data: JSON.parse(readFileSync(file, "utf8")) as T }
}

// --- Wycheproof ------------------------------------------------------------------------------

/** Fields every Wycheproof test case has; each file adds its own inputs (`msg`, `sig`, …). */
export interface WycheproofTest {
  readonly tcId: number
  readonly comment: string
  readonly flags: ReadonlyArray<string>
  /** `acceptable` may go either way; a test that decides it must say which way and why. */
  readonly result: "valid" | "invalid" | "acceptable"
}

export interface WycheproofGroup<T extends WycheproofTest> {
  readonly type: string
  readonly tests: ReadonlyArray<T>
}

export interface WycheproofFile<G extends WycheproofGroup<WycheproofTest>> {
  readonly algorithm: string
  readonly numberOfTests: number
  readonly testGroups: ReadonlyArray<G>
}

/**
 * Load `wycheproof/<name>_test.json`. The file's own `numberOfTests` must match the cases found,
 * so a truncated or reshaped file fails loudly instead of silently checking fewer vectors.
 */
export const loadWycheproof = <G extends WycheproofGroup<WycheproofTest>>(name: string): Loaded<WycheproofFile<G>> => {
  const loaded = loadVectors<WycheproofFile<G>>(`wycheproof/${name}_test.json`, `Wycheproof ${name}`)
  if (!loaded.available) return loaded
  const { data } = loaded
  if (!Array.isArray(data.testGroups)) throw new Error(`${loaded.path}: expected testGroups[]`)
  const counted = data.testGroups.reduce((n, g) => n + g.tests.length, 0)
  if (counted !== data.numberOfTests) {
    throw new Error(`${loaded.path}: numberOfTests says ${data.numberOfTests}, found ${counted}`)
  }
  return loaded
}

/** Every test case of a Wycheproof file, with its group. */
export const wycheproofCases = <G extends WycheproofGroup<WycheproofTest>>(
  file: WycheproofFile<G>
): ReadonlyArray<{ readonly group: G; readonly test: G["tests"][number] }> =>
  file.testGroups.flatMap((group) => group.tests.map((test) => ({ group, test })))

/** Decode a hex string from a vector file; malformed hex is a broken fixture, so it throws. */
export const hex = (s: string): Uint8Array => {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) throw new Error(`not hex: ${s.slice(0, 40)}`)
  return Uint8Array.from(Buffer.from(s, "hex"))
}

export const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex")
