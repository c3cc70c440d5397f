/**
 * Canonical InventoryLevel → the variant's stock on hand at one Vendure stock location, in batches of
 * `updateProductVariants` (each variant's levels at once). Vendure counts its own allocations (placed
 * orders not yet fulfilled) against stock on hand, so the ERP's physical `onHand` is written, not its
 * `available`: writing `available` would subtract the shop's open orders twice. A level already at the
 * ERP's number is "unchanged" without a call.
 */
import { z } from "zod";
import { SyncError } from "../../../core/errors.ts";
import type { WriteItem, WriteResult, Writer } from "../../../ports/connector.ts";
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
}

export function inventoryWriter(
  system: string,
  client: VendureClient,
  locations: StockLocations,
  locationName: (canonical: string) => string,
  priceChannels: PriceListChannels,
): Writer<"inventory"> {
  async function resolve(items: WriteItem<"inventory">[], results: WriteResult[]): Promise<Ready[]> {
    const found = await variantsBySku(
      client,
      items.map((i) => i.record.sku),
    );
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
      if (level?.stockOnHand === item.record.onHand) {
        results.push({ key: item.key, ok: true, targetId: `${v.id}@${locationId}`, action: "unchanged" });
        continue;
      }
      ready.push({ item, variantId: v.id, locationId });
    }
    return ready;
  }

  async function send(batch: Ready[], results: WriteResult[]): Promise<void> {
    const byVariant = new Map<string, Map<string, number>>();
    for (const r of batch) {
      const levels = byVariant.get(r.variantId) ?? new Map<string, number>();
      levels.set(r.locationId, r.item.record.onHand);
      byVariant.set(r.variantId, levels);
    }
    try {
      await client.request(
        UPDATE_STOCK,
        {
          input: [...byVariant].map(([id, levels]) => ({
            id,
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
    callsPerRecord: { create: 1, update: 1 },
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
