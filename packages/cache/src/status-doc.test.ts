// Runs every `ts` block of docs/status.md, so the examples stay true.
import { runDocBlocks } from "./internal/doc-blocks.test.js";

runDocBlocks("status.md", 2);
