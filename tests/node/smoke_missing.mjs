/**
 * Smoke test of the installed npm package with its `.node` removed and
 * `NUMFUSE_NODE_ADDON` pointing nowhere: loading fails with a message that
 * lists every place the loader tried.
 */

import { getNumThreads } from "numfuse";

try {
  getNumThreads(); // the binding is opened on first use
  console.log("smoke: FAIL the package loaded without its addon");
  process.exit(1);
} catch (e) {
  const message = String(e?.message);
  const wanted = [
    "Cannot load the numfuse Node-API addon",
    `NUMFUSE_NODE_ADDON=${process.env.NUMFUSE_NODE_ADDON}`,
    "node_modules/numfuse/numfuse.",
    "package @numfuse/",
  ];
  const missing = wanted.filter((w) => !message.includes(w));
  if (missing.length > 0) {
    console.log(`smoke: FAIL the message lacks ${JSON.stringify(missing)}:\n${message}`);
    process.exit(1);
  }
  console.log(`smoke: ok — a missing addon is reported as:\n${message}`);
}
