import { type FaultOptions, parseFaults } from "../../connectors/odoo/emulator/faults.ts";
import { odooEmulatorEnv, startOdooEmulator } from "../../connectors/odoo/emulator/index.ts";
import { shopifyEmulatorEnv, startShopifyEmulator } from "../../connectors/shopify/emulator/server.ts";
import { SyncError } from "../../core/errors.ts";
import type { Output } from "../output.ts";

/** Runs one emulator in the foreground and prints how to reach it, until SIGINT or SIGTERM. */
export async function emulateCommand(
  out: Output,
  system: string,
  opts: { port?: number; products?: number; faults?: string },
): Promise<void> {
  let faults: FaultOptions | undefined;
  try {
    faults = opts.faults === undefined ? undefined : parseFaults(opts.faults);
  } catch (e) {
    throw new SyncError("config", e instanceof Error ? e.message : String(e), { field: "faults" });
  }
  let info: Record<string, string>;
  let close: () => Promise<void>;
  if (system === "odoo") {
    const emu = await startOdooEmulator({
      ...(opts.port ? { port: opts.port } : {}),
      products: opts.products ?? 500,
      ...(faults ? { faults } : {}),
    });
    info = odooEmulatorEnv(emu);
    close = () => emu.close();
  } else if (system === "shopify") {
    const emu = await startShopifyEmulator({
      ...(opts.port ? { port: opts.port } : {}),
      ...(faults ? { faults } : {}),
    });
    info = shopifyEmulatorEnv(emu);
    close = () => emu.close();
  } else {
    throw new SyncError("config", `no emulator for ${JSON.stringify(system)}; emulators: odoo, shopify`);
  }
  // The emulator's fixed test credentials: printing them is the point of this command.
  out.resultAsIs(info, () =>
    [
      `${system} emulator running. Its test credentials, for passerelle.yaml:`,
      ...Object.entries(info).map(([k, v]) => `  export ${k}=${v}`),
      ...(faults ? [`Injecting faults: ${opts.faults}`] : []),
      "Ctrl-C to stop.",
    ].join("\n"),
  );
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await close();
}
