#!/usr/bin/env node
// Runs the compiled CLI (dist/, built by `npm run build`; `npm install` in a checkout builds it, and the
// published package ships it). From a checkout's TypeScript sources, without building, use
// bin/passerelle-src.mjs.
let main;
try {
  ({ main } = await import("../dist/cli/main.js"));
} catch (e) {
  if (e?.code !== "ERR_MODULE_NOT_FOUND" || !String(e.message).includes("dist/cli/main.js")) throw e;
  console.error(
    "passerelle: the compiled CLI (dist/) is missing. In a checkout of the repository, run `npm run build`\n" +
      "(npm install does it too), or run the sources with `node bin/passerelle-src.mjs`.",
  );
  process.exit(1);
}
await main(process.argv);
