/**
 * Products: a canonical product with one variant and no options is a BigCommerce product tracked by
 * product, its SKU and price the variant's; one with options is a product (SKU: the product key) tracked by
 * variant, with one variant per canonical variant carrying its option values (BigCommerce makes the
 * product's options from them). Product names are unique in BigCommerce: a product whose title another
 * already has is named `<title> (<SKU>)`. Products are read first (50 SKUs per call, with their variants) and only
 * what differs is written. Updates of many products or variants in one page (above `batchThreshold`) go
 * through the batch endpoints, 10 products or 50 variants per call; a refused batch fails its own records.
 */
import { z } from "zod";
import { SyncError } from "../../../core/errors.ts";
import type { Product, Variant } from "../../../core/model.ts";
import type { WriteResult, Writer } from "../../../ports/connector.ts";
import { callsFor, distinct, toWrite } from "../../call-estimate.ts";
import { perItem } from "../../write-results.ts";
import { type BigCommerceClient, explained } from "../client.ts";
import { type BigCommerceLookups, SKU_CHUNK } from "../lookup.ts";
import { BcProduct, type BcVariant } from "../native.ts";

/** BigCommerce's limits for the batch endpoints. */
export const PRODUCTS_PER_BATCH = 10;
export const VARIANTS_PER_BATCH = 50;

export const hasOptions = (p: Product) =>
  p.variants.length > 1 || p.variants.some((v) => Object.keys(v.options).length > 0);

/** The SKU the product itself has in BigCommerce: its key when it has options, else its one variant's. */
export const mainSku = (p: Product) => (hasOptions(p) ? p.key : (p.variants[0] as Variant).sku);

const Created = z.object({ data: BcProduct });

/** The name of a product whose title another product already has. */
export const twinName = (title: string, sku: string) => `${title} (${sku})`;
const num = (s: string) => Number(s);

interface Update {
  key: string;
  body: Record<string, unknown>;
}

export function productWriter(
  system: string,
  client: BigCommerceClient,
  lookups: BigCommerceLookups,
): Writer<"product"> {
  const config = client.config;

  async function sendUpdates(
    kind: "product" | "variant",
    updates: Update[],
    failures: Map<string, SyncError>,
  ): Promise<void> {
    const threshold = config.batchThreshold;
    const batched = threshold !== undefined && updates.length > threshold;
    if (!batched) {
      for (const u of updates) {
        if (failures.has(u.key)) continue;
        try {
          const { id, product_id, ...rest } = u.body as { id: number; product_id?: number };
          if (kind === "product")
            await client.write("PUT", `/v3/catalog/products/${id}`, rest, z.unknown(), "product update");
          else
            await client.write(
              "PUT",
              `/v3/catalog/products/${product_id}/variants/${id}`,
              rest,
              z.unknown(),
              "variant update",
            );
        } catch (err) {
          const e = explained(err);
          if (e instanceof SyncError && (e.kind === "permanent" || e.kind === "data")) failures.set(u.key, e);
          else throw e;
        }
      }
      return;
    }
    const size = kind === "product" ? PRODUCTS_PER_BATCH : VARIANTS_PER_BATCH;
    const live = updates.filter((u) => !failures.has(u.key));
    for (let at = 0; at < live.length; at += size) {
      const chunk = live.slice(at, at + size);
      try {
        await client.write(
          "PUT",
          kind === "product" ? "/v3/catalog/products" : "/v3/catalog/variants",
          chunk.map((u) =>
            kind === "product"
              ? u.body
              : (({ product_id: _p, ...rest }) => rest)(u.body as { product_id?: number }),
          ),
          z.unknown(),
          `${kind} batch update`,
        );
      } catch (err) {
        const e = explained(err);
        if (e instanceof SyncError && (e.kind === "permanent" || e.kind === "data")) {
          for (const u of chunk) failures.set(u.key, e);
        } else throw e;
      }
    }
  }

  return {
    entity: "product",
    async upsert(items) {
      const skus = items.flatMap((i) => [mainSku(i.record), ...i.record.variants.map((v) => v.sku)]);
      const held = await lookups.products(skus);
      const results = new Map<string, WriteResult>();
      const productUpdates: Update[] = [];
      const variantUpdates: Update[] = [];
      const touched = new Map<string, { id: number; created: boolean }>();
      for (const item of items) {
        const r = await perItem(item.key, system, async () => {
          const p = item.record;
          for (const v of p.variants)
            if (num(v.price) < 0)
              throw new SyncError(
                "permanent",
                `variant ${v.sku}: BigCommerce refuses a negative price (${v.price})`,
                {
                  system,
                  field: "price",
                },
              );
          const options = hasOptions(p);
          const names = [...new Set(p.variants.flatMap((v) => Object.keys(v.options)))];
          if (options)
            for (const v of p.variants) {
              const missing = names.filter((n) => v.options[n] === undefined);
              if (missing.length > 0)
                throw new SyncError(
                  "data",
                  `variant ${v.sku} has no value for option ${missing.join(", ")}`,
                  {
                    system,
                    field: "variants.options",
                  },
                );
            }
          const sku = mainSku(p);
          const existing = held.bySku.get(sku);
          const first = p.variants[0] as Variant;
          const visible = p.status === "active";
          const optionValues = (v: Variant) =>
            names.map((n) => ({ option_display_name: n, label: v.options[n] as string }));
          try {
            if (!existing) {
              const create = (name: string) =>
                client.write(
                  "POST",
                  "/v3/catalog/products",
                  {
                    name,
                    type: "physical",
                    sku,
                    weight: 0,
                    price: num(first.price),
                    is_visible: visible,
                    inventory_tracking: options ? "variant" : "product",
                  },
                  Created,
                  "product create",
                );
              // BigCommerce refuses two products of one name (409): the second is named after its SKU too.
              const made = await create(p.title).catch((err: unknown) => {
                if (
                  err instanceof SyncError &&
                  err.details.status === 409 &&
                  /name/i.test(String(err.details.vendorBody))
                )
                  return create(twinName(p.title, sku));
                throw err;
              });
              if (options)
                for (const v of p.variants)
                  await client.write(
                    "POST",
                    `/v3/catalog/products/${made.data.id}/variants`,
                    { sku: v.sku, price: num(v.price), option_values: optionValues(v) },
                    z.unknown(),
                    "variant create",
                  );
              touched.set(item.key, { id: made.data.id, created: true });
              return { key: item.key, ok: true, targetId: String(made.data.id), action: "created" };
            }
            const priced = config.productPrices === "always";
            const change: Record<string, unknown> = {};
            if (existing.name !== p.title && existing.name !== twinName(p.title, sku)) change.name = p.title;
            if ((existing.is_visible ?? true) !== visible) change.is_visible = visible;
            if (!options && priced && existing.price !== num(first.price)) change.price = num(first.price);
            if (Object.keys(change).length > 0)
              productUpdates.push({ key: item.key, body: { id: existing.id, ...change } });
            let wrote = false;
            if (options) {
              const mine = new Map((existing.variants ?? []).map((v) => [v.sku, v] as [string, BcVariant]));
              for (const v of p.variants) {
                const have = mine.get(v.sku);
                if (!have) {
                  await client.write(
                    "POST",
                    `/v3/catalog/products/${existing.id}/variants`,
                    { sku: v.sku, price: num(v.price), option_values: optionValues(v) },
                    z.unknown(),
                    "variant create",
                  );
                  wrote = true;
                } else if (priced && (have.price ?? existing.price) !== num(v.price)) {
                  variantUpdates.push({
                    key: item.key,
                    body: { id: have.id, product_id: existing.id, price: num(v.price) },
                  });
                }
              }
            }
            touched.set(item.key, { id: existing.id, created: false });
            const queued =
              productUpdates.some((u) => u.key === item.key) ||
              variantUpdates.some((u) => u.key === item.key);
            return {
              key: item.key,
              ok: true,
              targetId: String(existing.id),
              action: wrote || queued ? "updated" : "unchanged",
            };
          } catch (err) {
            throw explained(err);
          }
        });
        results.set(item.key, r);
      }
      const failures = new Map<string, SyncError>();
      await sendUpdates("product", productUpdates, failures);
      await sendUpdates("variant", variantUpdates, failures);
      for (const [key, error] of failures) results.set(key, { key, ok: false, error });
      return items.map((i) => results.get(i.key) as WriteResult);
    },
    async findByExternalRef(_ref, record) {
      const sku = mainSku(record);
      const p = (await lookups.products([sku])).bySku.get(sku);
      return p ? String(p.id) : null;
    },
    // The SKU search per chunk; a create is one call and one per variant; updates one per record, or per
    // batch of 10 products / 50 variants above batchThreshold.
    estimateCalls: (page) => {
      const skus = distinct(
        toWrite(page).flatMap((i) => [mainSku(i.record), ...i.record.variants.map((v) => v.sku)]),
      );
      const creates = page.create.reduce(
        (n, i) => n + 1 + (hasOptions(i.record) ? i.record.variants.length : 0),
        0,
      );
      const updates = page.update.length;
      const t = config.batchThreshold;
      const updateCalls = t !== undefined && updates > t ? callsFor(updates, PRODUCTS_PER_BATCH) : updates;
      return callsFor(skus, SKU_CHUNK) + creates + updateCalls + page.lookups.length;
    },
  };
}
