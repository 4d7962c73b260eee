#!/usr/bin/env node
// The `authlab` executable: registers tsx's loader so Node runs the TypeScript sources directly
// (no build step), then hands over to cli/main.ts.
import { register } from "tsx/esm/api"

register()
await import("../cli/main.ts")
