#!/usr/bin/env node
// Development entry: runs the CLI from the TypeScript sources through tsx (a devDependency), so a change
// runs without a build. The repository's tests spawn this one; users run bin/passerelle.mjs (compiled).
// Not in the published package.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
await main(process.argv);
