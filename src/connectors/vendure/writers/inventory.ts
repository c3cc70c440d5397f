/**
 * Canonical InventoryLevel → the variant's stock at one Vendure stock location, in batches of
 * `updateProductVariants` (each variant's levels at once). What a Vendure shopper may buy is stock on hand
 * minus stock allocated (placed orders not yet fulfilled in Vendure); the shop must offer exactly what the
 * ERP says is available to sell (InventoryLevel.available). So stock on hand is written as available +
 * allocated at that location: an order the ERP has not shipped is in the ERP's reservation and in Vendure's
 * allocation, and counting it once each way cancels out. Writing the ERP's physical on-hand instead counts
 * the same order twice once the ERP ships it before Vendure's fulfilment is created (the ERP's on-hand
 * already dropped while Vendure still allocates it). Vendure's fulfilment later lowers on-hand and
 * allocation together, so the sellable number it shows stays right in either order of the flows.
 * A level already there is "unchanged" without a call.
 */
import { z } from "zod";
import { SyncError } from "../../../core/errors.ts";
import type { WriteItem, WriteResult, Writer } from "../../../ports/connector.ts";
import { skuBatched, toWrite } from "../../call-estimate.ts";
import type { VendureClient } from "../client.ts";
import { type StockLocations, singleVariant, variantsBySku } from "../lookup.ts";
import type { PriceListChannels } from "./channels.ts";
import { failed } from "./results.ts";

const BATCH = 100;
const UPDATE_STOCK = `mutation UpdateStock($input: [UpdateProductVariantInput!]!) {
  updateProductVariants(input: $input) { id }
}`;

interface Ready {
  item: WriteItem<"inventory">;
  variantId: string;
  locationId: string;
  /** Stock on hand to write: available to sell plus what Vendure already allocates there. */
  onHand: number;
  /** The variant's restock settings to write, when they differ from Vendure's. */
  restock: RestockFields | null;
}

/** A variant's restock settings: its ships-on date (when a field is configured) and backorder threshold. */
interface RestockFields {
  useGlobalOutOfStockThreshold: boolean;
  outOfStockThreshold?: number;
  customFields?: Record<string, string | null>;
}

const VariantRestock = z.object({
  id: z.string(),
  useGlobalOutOfStockThreshold: z.boolean(),
  outOfStockThreshold: z.number().int(),
  customFields: z.record(z.string(), z.unknown()).nullish(),
});
type VariantRestock = z.infer<typeof VariantRestock>;

export interface RestockSettings {
  /** The ProductVariant custom field for the ships-on date; absent: none written. */
  shipsOnField?: string;
  /** Units a backordered variant may sell below zero. */
  backorderLimit: number;
}

/**
 * What the variant's restock settings must become for this level (core/kit.ts restockOf, derived by the
 * engine): backordered, Vendure sells down to minus the limit; otherwise the global threshold applies. The
 * ships-on date is the expected day, or emptied. Null when Vendure already holds exactly that.
 */
export function restockChange(
  record: WriteItem<"inventory">["record"],
  now: VariantRestock | undefined,
  settings: RestockSettings,
): RestockFields | null {
  const backorder = record.restock?.backorder === true;
  const want: RestockFields = backorder
    ? { useGlobalOutOfStockThreshold: false, outOfStockThreshold: -settings.backorderLimit }
    : { useGlobalOutOfStockThreshold: true };
  if (settings.shipsOnField)
    want.customFields = { [settings.shipsOnField]: record.restock?.expectedOn ?? null };
  if (!now) return want;
  const same =
    now.useGlobalOutOfStockThreshold === want.useGlobalOutOfStockThreshold &&
    (want.outOfStockThreshold === undefined || now.outOfStockThreshold === want.outOfStockThreshold) &&
    (!settings.shipsOnField ||
      (now.customFields?.[settings.shipsOnField] ?? null) ===
        (want.customFields?.[settings.shipsOnField] ?? null));
  return same ? null : want;
}

export function inventoryWriter(
  system: string,
  client: VendureClient,
  locations: StockLocations,
  locationName: (canonical: string) => string,
  priceChannels: PriceListChannels,
  settings: RestockSettings = { backorderLimit: 100 },
): Writer<"inventory"> {
  /** The variants' restock settings as Vendure holds them. */
  async function restockOf(ids: string[]): Promise<Map<string, VariantRestock>> {
    if (ids.length === 0) return new Map();
    const custom = settings.shipsOnField ? ` customFields { ${settings.shipsOnField} }` : "";
    const data = await client.request(
      `query VariantRestock($options: ProductVariantListOptions) {
        productVariants(options: $options) { items { id useGlobalOutOfStockThreshold outOfStockThreshold${custom} } }
      }`,
      { options: { take: ids.length, filter: { id: { in: ids } } } },
      z.object({ productVariants: z.object({ items: z.array(VariantRestock) }) }),
    );
    return new Map(data.productVariants.items.map((v) => [v.id, v]));
  }

  async function resolve(items: WriteItem<"inventory">[], results: WriteResult[]): Promise<Ready[]> {
    const found = await variantsBySku(
      client,
      items.map((i) => i.record.sku),
    );
    const current = await restockOf([
      ...new Set(
        items.flatMap((i) => {
          const v = singleVariant(found, i.record.sku);
          return typeof v === "string" ? [] : [v.id];
        }),
      ),
    ]);
    const ready: Ready[] = [];
    for (const item of items) {
      const v = singleVariant(found, item.record.sku);
      if (typeof v === "string") {
        results.push(failed(item.key, "permanent", v, system, "sku"));
        continue;
      }
      const name = locationName(item.record.location);
      const locationId = await locations.idOf(name);
      if (locationId === null) {
        results.push(
          failed(
            item.key,
            "permanent",
            `no Vendure stock location is named "${name}" (canonical location "${item.record.location}")`,
            system,
            "location",
          ),
        );
        continue;
      }
      const level = v.stockLevels.find((l) => l.stockLocationId === locationId);
      const onHand = item.record.available + (level?.stockAllocated ?? 0);
      const restock = restockChange(item.record, current.get(v.id), settings);
      if (level?.stockOnHand === onHand && restock === null) {
        results.push({ key: item.key, ok: true, targetId: `${v.id}@${locationId}`, action: "unchanged" });
        continue;
      }
      ready.push({ item, variantId: v.id, locationId, onHand, restock });
    }
    return ready;
  }

  async function send(batch: Ready[], results: WriteResult[]): Promise<void> {
    const byVariant = new Map<string, Map<string, number>>();
    // A variant's restock settings are the variant's, not a location's: a level of the batch in stock (its
    // change clears them) wins over one out of stock (see docs/connectors/vendure.md).
    const restockOfVariant = new Map<string, RestockFields | null>();
    for (const r of batch) {
      const levels = byVariant.get(r.variantId) ?? new Map<string, number>();
      levels.set(r.locationId, r.onHand);
      byVariant.set(r.variantId, levels);
    }
    for (const id of byVariant.keys()) {
      const own = batch.filter((r) => r.variantId === id);
      const chosen = own.find((r) => r.item.record.restock === undefined) ?? own[own.length - 1];
      restockOfVariant.set(id, chosen?.restock ?? null);
    }
    try {
      await client.request(
        UPDATE_STOCK,
        {
          input: [...byVariant].map(([id, levels]) => ({
            id,
            ...(restockOfVariant.get(id) ?? {}),
            stockLevels: [...levels].map(([stockLocationId, stockOnHand]) => ({
              stockLocationId,
              stockOnHand,
            })),
          })),
        },
        z.unknown(),
      );
    } catch (err) {
      if (!(err instanceof SyncError) || err.kind !== "permanent") throw err;
      if (batch.length === 1) {
        results.push({ key: batch[0]?.item.key ?? "", ok: false, error: err });
        return;
      }
      for (const r of batch) await send([r], results);
      return;
    }
    for (const r of batch) {
      results.push({
        key: r.item.key,
        ok: true,
        targetId: `${r.variantId}@${r.locationId}`,
        action: r.item.targetId === null ? "created" : "updated",
      });
    }
  }

  return {
    entity: "inventory",
    // The SKUs and levels 100 at a time, after reading the stock locations once; the variants' restock
    // settings in one read per page (and per lookup of an interrupted write).
    estimateCalls: (page) =>
      skuBatched<"inventory">({ lookupSize: 100, size: BATCH, perGroup: 1 })(page) +
      (toWrite(page).length > 0 ? 1 : 0) +
      page.lookups.length,
    async upsert(items) {
      // Stock here is sold in the price-list channels too, so they must have these stock locations.
      await priceChannels.equipAll();
      const results: WriteResult[] = [];
      const ready = await resolve(items, results);
      // The same variant × location twice: the last record of a batch is the newest.
      const latest = new Map<string, Ready>();
      for (const r of ready) latest.set(`${r.variantId}@${r.locationId}`, r);
      for (const r of ready) {
        if (latest.get(`${r.variantId}@${r.locationId}`) !== r) {
          results.push({
            key: r.item.key,
            ok: true,
            targetId: `${r.variantId}@${r.locationId}`,
            action: "unchanged",
          });
        }
      }
      const unique = [...latest.values()];
      for (let i = 0; i < unique.length; i += BATCH) await send(unique.slice(i, i + BATCH), results);
      return results;
    },
    async findByExternalRef(ref, record) {
      const results: WriteResult[] = [];
      const [r] = await resolve([{ key: record.key, record, targetId: null, externalRef: ref }], results);
      const same = results.find((x) => x.ok);
      // Setting an absolute quantity is idempotent; a resolvable variant × location is all that is needed.
      if (same?.ok) return same.targetId;
      return r ? `${r.variantId}@${r.locationId}` : null;
    },
  };
}
