/**
 * Stock per MSI source: the canonical location is a source (sourceMap, else its own name as the source
 * code); the source item's quantity is set to the canonical `available` (an absolute set), status in stock
 * when above zero. Magento validates a whole `source-items` request before saving any of it, so the SKUs
 * and sources are checked first and a record that would refuse its batch fails alone; items already right
 * are not sent. Requests carry at most 20 items (Magento's default input limit for synchronous arrays).
 */
import { z } from "zod";
import type { InventoryLevel } from "../../../core/model.ts";
import type { WriteResult, Writer } from "../../../ports/connector.ts";
import { callsFor, distinct, toWrite } from "../../call-estimate.ts";
import { failed, type Pending, queueLast, sendChunks, settleReplaced } from "../../write-results.ts";
import { explained, type MagentoClient, searchCriteria } from "../client.ts";
import { type MagentoLookups, SKU_CHUNK } from "../lookup.ts";
import { SearchResult } from "../native.ts";

export const SOURCE_ITEMS_PER_CALL = 20;

const SourceItem = z.object({
  sku: z.string(),
  source_code: z.string(),
  quantity: z.number(),
  status: z.number(),
});

export function inventoryWriter(
  system: string,
  client: MagentoClient,
  lookups: MagentoLookups,
): Writer<"inventory"> {
  const sourceOf = (l: InventoryLevel) => client.config.sourceMap?.[l.location] ?? l.location;

  async function held(skus: string[]): Promise<z.infer<typeof SourceItem>[]> {
    const out: z.infer<typeof SourceItem>[] = [];
    for (let i = 0; i < skus.length; i += SKU_CHUNK) {
      const r = await client.get(
        "all",
        `/inventory/source-items?${searchCriteria({ groups: [[{ field: "sku", value: skus.slice(i, i + SKU_CHUNK).join(","), conditionType: "in" }]] })}`,
        SearchResult(SourceItem),
        "source items",
      );
      out.push(...r.items);
    }
    return out;
  }

  return {
    entity: "inventory",
    async upsert(items) {
      const results = new Map<string, WriteResult>();
      const skus = [...new Set(items.map((i) => i.record.sku))];
      const products = await lookups.products(skus);
      const current = await held(skus.filter((s) => products.has(s)));
      const send: Pending<z.infer<typeof SourceItem>>[] = [];
      for (const i of items) {
        const r = i.record;
        const source = sourceOf(r);
        const product = products.get(r.sku);
        if (!product) {
          results.set(
            i.key,
            failed(
              i.key,
              "permanent",
              `Magento has no product with SKU ${JSON.stringify(r.sku)}`,
              system,
              "sku",
            ),
          );
          continue;
        }
        if (product.type_id === "configurable") {
          results.set(
            i.key,
            failed(
              i.key,
              "permanent",
              `SKU ${r.sku} is a configurable product: stock belongs to its child simples`,
              system,
              "sku",
            ),
          );
          continue;
        }
        if (!(await lookups.sourceExists(source))) {
          results.set(
            i.key,
            failed(
              i.key,
              "permanent",
              `Magento has no inventory source ${JSON.stringify(source)} for location ${JSON.stringify(r.location)}: add it to sourceMap or create the source`,
              system,
              "location",
            ),
          );
          continue;
        }
        const targetId = `${r.sku}@${source}`;
        const row = {
          sku: r.sku,
          source_code: source,
          quantity: r.available,
          status: r.available > 0 ? 1 : 0,
        };
        const have = current.find((c) => c.sku === r.sku && c.source_code === source);
        if (have && have.quantity === row.quantity && have.status === row.status) {
          results.set(i.key, { key: i.key, ok: true, targetId, action: "unchanged" });
          continue;
        }
        // One row per SKU × source per request: a later duplicate in the page wins.
        queueLast(send, { key: i.key, targetId, created: i.targetId === null, row });
      }
      const threshold = client.config.bulkThreshold;
      if (threshold !== undefined && send.length > threshold) {
        // A large change: one async bulk request of 20-item bodies, each body one operation.
        const chunks: (typeof send)[] = [];
        for (let at = 0; at < send.length; at += SOURCE_ITEMS_PER_CALL)
          chunks.push(send.slice(at, at + SOURCE_ITEMS_PER_CALL));
        const outcome = await client.bulk(
          "all",
          "/inventory/source-items",
          chunks.map((c) => ({ sourceItems: c.map((x) => x.row) })),
          "source items",
        );
        chunks.forEach((chunk, i) => {
          const why = outcome[i];
          for (const c of chunk)
            results.set(
              c.key,
              why
                ? failed(
                    c.key,
                    why.startsWith("failed (retriable)") ? "retryable" : "permanent",
                    `Magento's bulk operation for ${c.targetId} ${why}`,
                    system,
                  )
                : { key: c.key, ok: true, targetId: c.targetId, action: c.created ? "created" : "updated" },
            );
        });
        send.length = 0;
      }
      await sendChunks(
        send,
        SOURCE_ITEMS_PER_CALL,
        results,
        (sourceItems) =>
          client.write(
            "POST",
            "all",
            "/inventory/source-items",
            { sourceItems },
            z.unknown(),
            "source items",
          ),
        explained,
      );
      return settleReplaced(
        items,
        results,
        send,
        (x, i) => x.targetId === `${i.record.sku}@${sourceOf(i.record)}`,
      );
    },
    async findByExternalRef(_ref, record) {
      const source = sourceOf(record);
      if (!(await lookups.products([record.sku])).has(record.sku)) return null;
      return (await held([record.sku])).some((c) => c.source_code === source)
        ? `${record.sku}@${source}`
        : null;
    },
    // The SKU search and source-item read per chunk, the sources once, then the changed items 20 per call.
    estimateCalls: (page) => {
      const n = toWrite(page).length;
      const skus = distinct(toWrite(page).map((i) => i.record.sku));
      return n === 0
        ? page.lookups.length * 2
        : callsFor(skus, SKU_CHUNK) * 2 + 1 + callsFor(n, SOURCE_ITEMS_PER_CALL) + page.lookups.length * 2;
    },
  };
}
