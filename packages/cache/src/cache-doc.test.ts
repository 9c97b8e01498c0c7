// Runs every `ts` block of docs/cache.md, so the examples stay true.
import { runDocBlocks } from "./internal/doc-blocks.test.js";

runDocBlocks("cache.md", 6);
