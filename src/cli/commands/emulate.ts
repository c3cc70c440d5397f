import type { FaultOptions } from "@passerelle/emulators";
import { SyncError } from "../../core/errors.ts";
import { type EmulatorsModule, loadEmulators } from "../emulators.ts";
import type { Output } from "../output.ts";

/** Stands for a SKU in the printed order example: the shop has none until products are synced to it. */
export const SKU_PLACEHOLDER = "SKU-FROM-THE-LIST";

/** How to place an order by hand on the Shopify emulator: commands a user pastes into a shell. */
function orderHowTo(
  graphqlUrl: string,
  { ORDERS_PATH, VARIANTS_PATH }: Pick<EmulatorsModule, "ORDERS_PATH" | "VARIANTS_PATH">,
): string[] {
  const variants = new URL(VARIANTS_PATH, graphqlUrl).href;
  const orders = new URL(ORDERS_PATH, graphqlUrl).href;
  const body = JSON.stringify({
    email: "shopper@example.com",
    lines: [{ sku: SKU_PLACEHOLDER, quantity: 1 }],
  });
  return [
    "Place an order by hand, once products and stock are synced to the shop (passerelle sync products stock):",
    `  curl -s ${variants}`,
    `  curl -s ${orders} -H 'content-type: application/json' \\`,
    `    -d '${body}'`,
    `with a SKU from the list for ${SKU_PLACEHOLDER}. It answers the order's name (#1001…) and raises the shop's`,
    "order webhooks; passerelle sync orders (or passerelle run, with webhooks registered) brings it into the ERP.",
  ];
}

/** Runs one emulator in the foreground and prints how to reach it, until SIGINT or SIGTERM. */
export async function emulateCommand(
  out: Output,
  system: string,
  opts: { port?: number; products?: number; faults?: string },
): Promise<void> {
  const emulators = await loadEmulators("emulate");
  const {
    parseFaults,
    startOdooEmulator,
    odooEmulatorEnv,
    startShopifyEmulator,
    shopifyEmulatorEnv,
    startMagentoEmulator,
    magentoEmulatorEnv,
    startSapB1Emulator,
    sapB1EmulatorEnv,
    startNetSuiteEmulator,
    netsuiteEmulatorEnv,
    startS4Emulator,
    s4EmulatorEnv,
    startBigCommerceEmulator,
    bigcommerceEmulatorEnv,
    startBcEmulator,
    bcEmulatorEnv,
    startPrestaShopEmulator,
    prestashopEmulatorEnv,
    startAcumaticaEmulator,
    acumaticaEmulatorEnv,
    startSfccEmulator,
    sfccEmulatorEnv,
    startFusionEmulator,
    fusionEmulatorEnv,
  } = emulators;
  let faults: FaultOptions | undefined;
  try {
    faults = opts.faults === undefined ? undefined : parseFaults(opts.faults);
  } catch (e) {
    throw new SyncError("config", e instanceof Error ? e.message : String(e), { field: "faults" });
  }
  let info: Record<string, string>;
  let howTo: string[] = [];
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
    howTo = orderHowTo(emu.url, emulators);
    close = () => emu.close();
  } else if (system === "magento") {
    const emu = await startMagentoEmulator({
      ...(opts.port ? { port: opts.port } : {}),
      customers: 20,
      ...(faults ? { faults } : {}),
    });
    info = magentoEmulatorEnv(emu);
    close = () => emu.close();
  } else if (system === "sap-b1") {
    const emu = await startSapB1Emulator({
      ...(opts.port ? { port: opts.port } : {}),
      items: opts.products ?? 50,
      customers: 20,
      ...(faults ? { faults } : {}),
    });
    info = sapB1EmulatorEnv(emu);
    close = () => emu.close();
  } else if (system === "netsuite") {
    const emu = await startNetSuiteEmulator({
      ...(opts.port ? { port: opts.port } : {}),
      items: opts.products ?? 50,
      customers: 20,
    });
    info = netsuiteEmulatorEnv(emu);
    close = () => emu.close();
  } else if (system === "oracle-fusion") {
    const emu = await startFusionEmulator({
      ...(opts.port ? { port: opts.port } : {}),
      items: opts.products ?? 50,
      ...(faults ? { faults } : {}),
    });
    info = fusionEmulatorEnv(emu);
    close = () => emu.close();
  } else if (system === "s4hana") {
    const emu = await startS4Emulator({
      ...(opts.port ? { port: opts.port } : {}),
      products: opts.products ?? 50,
      partners: 20,
      ...(faults ? { faults } : {}),
    });
    info = s4EmulatorEnv(emu);
    close = () => emu.close();
  } else if (system === "bigcommerce") {
    const emu = await startBigCommerceEmulator({
      ...(opts.port ? { port: opts.port } : {}),
      customers: 20,
      ...(faults ? { faults } : {}),
    });
    info = bigcommerceEmulatorEnv(emu);
    close = () => emu.close();
  } else if (system === "business-central") {
    const emu = await startBcEmulator({
      ...(opts.port ? { port: opts.port } : {}),
      items: opts.products ?? 50,
      customers: 20,
      ...(faults ? { faults } : {}),
    });
    info = bcEmulatorEnv(emu);
    close = () => emu.close();
  } else if (system === "prestashop") {
    const emu = await startPrestaShopEmulator({
      ...(opts.port ? { port: opts.port } : {}),
      customers: 20,
      ...(faults ? { faults } : {}),
    });
    info = prestashopEmulatorEnv(emu);
    close = () => emu.close();
  } else if (system === "acumatica") {
    const emu = await startAcumaticaEmulator({
      ...(opts.port ? { port: opts.port } : {}),
      items: opts.products ?? 50,
      customers: 20,
      ...(faults ? { faults } : {}),
    });
    info = acumaticaEmulatorEnv(emu);
    close = () => emu.close();
  } else if (system === "sfcc") {
    const emu = await startSfccEmulator({
      ...(opts.port ? { port: opts.port } : {}),
      customers: 20,
      ...(faults ? { faults } : {}),
    });
    info = sfccEmulatorEnv(emu);
    close = () => emu.close();
  } else {
    throw new SyncError(
      "config",
      `no emulator for ${JSON.stringify(system)}; emulators: odoo, shopify, magento, sap-b1, s4hana, bigcommerce, business-central, prestashop, acumatica, sfcc, oracle-fusion, netsuite`,
    );
  }
  // The emulator's fixed test credentials: printing them is the point of this command.
  out.resultAsIs(info, () =>
    [
      `${system} emulator running. Its test credentials, for passerelle.yaml:`,
      ...Object.entries(info).map(([k, v]) => `  export ${k}=${v}`),
      ...(faults ? [`Injecting faults: ${opts.faults}`] : []),
      ...howTo,
      "Ctrl-C to stop.",
    ].join("\n"),
  );
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await close();
}
