/**
 * The systems a benchmark talks to, in a process of their own: an Odoo emulator seeded with a dataset and
 * a Shopify emulator. Keeping them out of the measured process means the measured process's CPU time and
 * peak RSS are Passerelle's (or the baseline's) alone. Controlled over the IPC channel (see systems.ts).
 */
import { odooEmulatorEnv, shopifyEmulatorEnv, startShopifyEmulator } from "@passerelle/emulators";
import { startDataset } from "../dataset.ts";
import type { HostReply, HostRequest, HostSettings } from "./protocol.ts";

const settings = JSON.parse(process.argv[2] ?? "{}") as HostSettings;
const started = performance.now();
const { odoo, dataset } = await startDataset(settings.size, settings.seed);
// The secret that signs the emulator's webhook deliveries; passerelle.yaml reads it from the environment.
const webhookSecret = "shpss_bench_webhook_secret";
const shopify = await startShopifyEmulator({
  seed: settings.seed,
  webhookSecret,
  customers: 0,
  rateLimit: settings.rateLimit ?? { enabled: false },
});
const seedMs = Math.round(performance.now() - started);

function answer(req: HostRequest): HostReply {
  switch (req.op) {
    case "stats":
      return {
        op: "stats",
        odoo: { calls: odoo.stats.calls, writes: odoo.stats.writes },
        shopify: { ...shopify.stats },
        bulk: { operations: shopify.bulk.stats.operations, lines: shopify.bulk.stats.lines },
        rss: process.memoryUsage().rss,
        cpuMs: Math.round((process.cpuUsage().user + process.cpuUsage().system) / 1000),
        shop: {
          products: shopify.data.products.size,
          variants: shopify.data.variants.size,
          priceLists: shopify.data.priceLists.size,
        },
      };
    case "reset":
      odoo.resetStats();
      shopify.resetStats();
      return { op: "reset" };
    case "change": {
      const changed = dataset.change(req.fraction, req.round);
      return { op: "change", changed };
    }
  }
}

process.on("message", (msg: HostRequest & { id: number }) => {
  try {
    process.send?.({ id: msg.id, ok: true, reply: answer(msg) });
  } catch (err) {
    process.send?.({ id: msg.id, ok: false, error: err instanceof Error ? err.message : String(err) });
  }
});
process.on("disconnect", () => {
  void Promise.all([odoo.close(), shopify.close()]).then(() => process.exit(0));
});

process.send?.({
  id: 0,
  ok: true,
  reply: {
    op: "ready",
    seedMs,
    counts: dataset.counts,
    env: { ...odooEmulatorEnv(odoo), ...shopifyEmulatorEnv(shopify) },
  },
});
