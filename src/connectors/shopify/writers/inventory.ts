/**
 * Canonical InventoryLevel → Shopify "available" at one location, with `inventorySetQuantities` in batches
 * of up to 250 quantities. The ERP is the source of truth for stock, so the compare-and-swap check is
 * skipped explicitly (`changeFromQuantity: null`, which 2026-10 requires to be stated). Each call carries a
 * fresh @idempotent key: a replayed key would silently skip a legitimate later write of the same numbers.
 */
import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { WriteItem, WriteResult, Writer } from "../../../ports/connector.ts";
import { callsFor, distinct, toWrite } from "../../call-estimate.ts";
import { type ShopifyClient, UserErrors } from "../client.ts";
import { type LocationCache, singleVariant, variantLookupCalls, variantsBySku } from "../lookup.ts";
import { INVENTORY_SET } from "../operations.ts";
import { failed, failPointedAt, indexIn } from "./results.ts";

const BATCH = 250;

const SetAnswer = z.object({
  inventorySetQuantities: z.object({ userErrors: UserErrors }).nullable(),
});

interface Ready {
  item: WriteItem<"inventory">;
  inventoryItemId: string;
  locationId: string;
}

export function inventoryWriter(
  system: string,
  client: ShopifyClient,
  locations: LocationCache,
  locationName: (canonical: string) => string,
): Writer<"inventory"> {
  async function send(batch: Ready[], results: WriteResult[], retry = true): Promise<void> {
    if (batch.length === 0) return;
    const input = {
      name: "available",
      reason: "correction",
      referenceDocumentUri: "passerelle://inventory",
      quantities: batch.map((r) => ({
        inventoryItemId: r.inventoryItemId,
        locationId: r.locationId,
        quantity: r.item.record.available,
        changeFromQuantity: null,
      })),
    };
    const data = await client.request(INVENTORY_SET, { input, key: randomUUID() }, SetAnswer);
    const errors = data.inventorySetQuantities?.userErrors ?? [];
    if (errors.length === 0) {
      for (const r of batch) {
        results.push({
          key: r.item.key,
          ok: true,
          targetId: `${r.inventoryItemId}@${r.locationId}`,
          action: r.item.targetId === null ? "created" : "updated",
        });
      }
      return;
    }
    const bad = new Map<number, UserErrors>();
    for (const e of errors) {
      const i = indexIn(e.field, "quantities");
      if (i !== null) bad.set(i, [...(bad.get(i) ?? []), e]);
    }
    await send(failPointedAt(batch, bad, errors, results, system, retry), results, false);
  }

  async function resolve(items: WriteItem<"inventory">[], results: WriteResult[]): Promise<Ready[]> {
    const found = await variantsBySku(
      client,
      items.map((i) => i.record.sku),
    );
    const ready: Ready[] = [];
    for (const item of items) {
      const variant = singleVariant(found, item.record.sku);
      if (typeof variant === "string") {
        results.push(failed(item.key, "permanent", variant, system, "sku"));
        continue;
      }
      const name = locationName(item.record.location);
      const locationId = await locations.idOf(name);
      if (locationId === null) {
        results.push(
          failed(
            item.key,
            "permanent",
            `no active Shopify location is named "${name}" (canonical location "${item.record.location}")`,
            system,
            "location",
          ),
        );
        continue;
      }
      ready.push({ item, inventoryItemId: variant.inventoryItemId, locationId });
    }
    return ready;
  }

  return {
    entity: "inventory",
    estimateCalls(page) {
      const items = toWrite(page);
      if (items.length === 0) return page.lookups.length;
      // The SKU lookup, the shop's locations once, then one call per 250 distinct item × location; an
      // interrupted create is one SKU lookup.
      const levels = distinct(items.map((i) => `${i.record.sku}@${locationName(i.record.location)}`));
      return (
        variantLookupCalls(items.map((i) => i.record.sku)) +
        (page.first && !locations.loaded ? 1 : 0) +
        callsFor(levels, BATCH) +
        page.lookups.length
      );
    },
    async upsert(items) {
      const results: WriteResult[] = [];
      const ready = await resolve(items, results);
      // The same item × location twice in one call is refused; the last record of a batch is the newest.
      const latest = new Map<string, Ready>();
      for (const r of ready) latest.set(`${r.inventoryItemId}@${r.locationId}`, r);
      const unique = [...latest.values()];
      for (const r of ready) {
        if (latest.get(`${r.inventoryItemId}@${r.locationId}`) !== r) {
          results.push({
            key: r.item.key,
            ok: true,
            targetId: `${r.inventoryItemId}@${r.locationId}`,
            action: "unchanged",
          });
        }
      }
      for (let i = 0; i < unique.length; i += BATCH) await send(unique.slice(i, i + BATCH), results);
      return results;
    },
    async findByExternalRef(_ref, record) {
      const results: WriteResult[] = [];
      const [r] = await resolve([{ key: record.key, record, targetId: null, externalRef: _ref }], results);
      // Setting an absolute quantity is idempotent; a resolvable item × location is all that is needed.
      return r ? `${r.inventoryItemId}@${r.locationId}` : null;
    },
  };
}
