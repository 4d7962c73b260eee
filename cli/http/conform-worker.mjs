// Entry of the thread that runs conform's checks. On Node 20 a worker's own entry module does not
// go through the loaders given in execArgv, so register tsx here (as cli/parallel/worker.mjs).
import { register } from "tsx/esm/api"

register()
await import("./conform-worker.ts")
