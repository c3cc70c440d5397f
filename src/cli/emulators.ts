/**
 * Loads the development package of emulators (packages/emulators in the repository) for `passerelle demo`
 * and `passerelle emulate`, the only commands that use it. It is never imported statically: the published
 * passerelle package does not contain it, and every other command runs without it.
 *
 * Running from the compiled build (dist/, as `npx passerelle` and `npm start` do), the emulators' compiled
 * build is loaded; running from the TypeScript sources (the tests, under tsx), their sources are.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type * as Emulators from "@passerelle/emulators";
import { SyncError } from "../core/errors.ts";

export type EmulatorsModule = typeof Emulators;

const PACKAGE = "@passerelle/emulators";

export async function loadEmulators(command: "demo" | "emulate"): Promise<EmulatorsModule> {
  const fromSources = import.meta.url.endsWith(".ts");
  const specifier = fromSources ? PACKAGE : `${PACKAGE}/compiled`;
  try {
    return (await import(specifier)) as EmulatorsModule;
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code !== "ERR_MODULE_NOT_FOUND" && code !== "ERR_PACKAGE_PATH_NOT_EXPORTED") throw e;
    const installed = resolvable(PACKAGE);
    throw new SyncError(
      "config",
      installed
        ? `passerelle ${command} needs the emulators package ${PACKAGE}, which is not built in this checkout: run \`npm run build\` (it builds the product and the emulators)`
        : `passerelle ${command} needs the emulators package ${PACKAGE}, which is not installed with the published package: run it from a checkout of the Passerelle repository (\`npm install\`, then \`npm start\`), or point passerelle.yaml at your own systems and use the other commands`,
      { cause: e },
    );
  }
}

/** Whether the package itself is installed (its package.json is found), built or not. */
function resolvable(name: string): boolean {
  try {
    return existsSync(fileURLToPath(import.meta.resolve(`${name}/package.json`)));
  } catch {
    return false;
  }
}
