import { runDemo } from "./demo.js";

const started = Date.now();
await runDemo();
console.log(`\ndone in ${((Date.now() - started) / 1000).toFixed(1)} s`);
// grpc-js-xds keeps its xDS client alive for a while after the last channel closes.
process.exit(0);
