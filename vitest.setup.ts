/**
 * Let each test start on a fresh turn of the event loop. Our property checks and explorations are
 * long synchronous computations, and vitest's runner only awaits promises between tests: without
 * a macrotask boundary the worker's IPC replies wait unread, and vitest's fixed 60 s RPC timeout
 * ("Timeout calling onTaskUpdate") fails the run although every test passed
 * (vitest-dev/vitest#6479, #8164).
 *
 * A bad AUTHLAB_* value must not let the suite run silently on defaults: refuse to start.
 */
import { beforeEach } from "vitest"
import { configProblems } from "./properties/harness/config.ts"

if (configProblems.length > 0) throw new Error(`bad test sizes: ${configProblems.join("; ")}`)

beforeEach(() => new Promise<void>((resolve) => setImmediate(resolve)))
