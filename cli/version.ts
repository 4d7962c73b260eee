/** The package's version, read once (package.json is not importable as a module under this tsconfig). */
import { readFileSync } from "node:fs"

let version: string | undefined

export const toolVersion = (): string => {
  if (version === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { readonly version?: unknown }
      version = typeof pkg.version === "string" ? pkg.version : "0.0.0"
    } catch {
      version = "0.0.0"
    }
  }
  return version
}
