/**
 * Shopify products → canonical Product, read back to verify what the product writer wrote. The key is the
 * handle (the writer derives the handle from the canonical key on create); Shopify has no product code.
 */
import Big from "big.js";
import { z } from "zod";
import { SyncError } from "../../../core/errors.ts";
import type { Product } from "../../../core/model.ts";
import type { Stream } from "../../../ports/connector.ts";
import type { ShopifyClient } from "../client.ts";
import { connectionOf, ShopifyProduct } from "../native.ts";
import { PRODUCT, PRODUCTS } from "../operations.ts";
import { byUpdatedThenId, pages } from "./paging.ts";

/** The option Shopify gives a product without options; not a real option, so it is not mapped. */
export const DEFAULT_OPTION = { name: "Title", value: "Default Title" };

export function productStream(
  system: string,
  client: ShopifyClient,
  currency: () => Promise<string>,
): Stream<"product", ShopifyProduct> {
  const sort = byUpdatedThenId<ShopifyProduct>(
    (p) => p.updatedAt,
    (p) => p.id,
  );
  return {
    entity: "product",
    sorted: true,
    list: (req) =>
      pages(client, PRODUCTS, "products", z.object({ products: connectionOf(ShopifyProduct) }), req, sort),
    async get(id) {
      const data = await client.request(PRODUCT, { id }, z.object({ product: ShopifyProduct.nullable() }));
      return data.product;
    },
    idOf: (p) => p.id,
    updatedAtOf: (p) => p.updatedAt,
    async toCanonical(p): Promise<Product> {
      const status = p.status.toLowerCase();
      return {
        source: system,
        sourceId: p.id,
        updatedAt: p.updatedAt,
        key: p.handle,
        title: p.title,
        description: p.descriptionHtml || undefined,
        vendor: p.vendor || undefined,
        status: status === "active" || status === "archived" ? status : "draft",
        currency: await currency(),
        categoryPath: [],
        attributes: {},
        images: [],
        components: [],
        variants: p.variants.nodes.map((v, i) => {
          if (!v.sku) {
            throw new SyncError("data", `Shopify product ${p.handle} variant ${i + 1} has no SKU`, {
              system,
              field: `variants[${i}].sku`,
            });
          }
          const options = Object.fromEntries(
            v.selectedOptions
              .filter((o) => !(o.name === DEFAULT_OPTION.name && o.value === DEFAULT_OPTION.value))
              .map((o) => [o.name, o.value]),
          );
          return {
            sku: v.sku,
            title: v.title === DEFAULT_OPTION.value ? undefined : v.title,
            barcode: v.barcode ?? undefined,
            price: new Big(v.price).toString(),
            compareAtPrice: v.compareAtPrice === null ? undefined : new Big(v.compareAtPrice).toString(),
            options,
          };
        }),
      };
    },
  };
}
