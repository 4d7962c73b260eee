// Entry of an audit worker thread. On Node 20 a worker's own entry module does not go through
// the loaders given in execArgv, so register tsx here, then load the TypeScript worker.
import { register } from "tsx/esm/api"

register()
await import("./worker.ts")
