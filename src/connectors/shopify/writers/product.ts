/**
 * Canonical Product → one Shopify product with all its variants, written with `productSet` (synchronous):
 * one call creates or updates the product, its options and every variant (SKU via inventoryItem), and
 * removes variants that are no longer in the ERP. Existing products are found by SKU, so a crash between
 * "created" and "linked" is repaired by looking, and an identical second write is "unchanged" (no call).
 */
import Big from "big.js";
import { z } from "zod";
import type { Product } from "../../../core/model.ts";
import type { WriteItem, WriteResult, Writer } from "../../../ports/connector.ts";
import { type ShopifyClient, UserErrors } from "../client.ts";
import { variantsBySku } from "../lookup.ts";
import { ShopifyProduct } from "../native.ts";
import { PRODUCT, PRODUCT_SET, PRODUCT_VARIANTS_MAX } from "../operations.ts";
import { DEFAULT_OPTION } from "../streams/product.ts";
import { failed, perItem, userErrorResult } from "./results.ts";

const ProductSetAnswer = z.object({
  productSet: z.object({ product: ShopifyProduct.nullable(), userErrors: UserErrors }).nullable(),
});

export function handleFor(key: string): string {
  return (
    key
      .toLowerCase()
      .normalize("NFD")
      .replace(/[\u0300-\u036f]/g, "")
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "") || "product"
  );
}

interface Desired {
  title: string;
  descriptionHtml: string;
  vendor: string | undefined;
  status: "ACTIVE" | "ARCHIVED" | "DRAFT";
  options: { name: string; values: string[] }[];
  variants: {
    sku: string;
    price: string;
    compareAtPrice: string | null;
    barcode: string | null;
    optionValues: { optionName: string; name: string }[];
  }[];
}

function desired(p: Product): Desired {
  const names: string[] = [];
  for (const v of p.variants) for (const n of Object.keys(v.options)) if (!names.includes(n)) names.push(n);
  const fallback = p.variants.length > 1 && names.length === 0;
  const options =
    names.length > 0
      ? names.map((name) => ({ name, values: [...new Set(p.variants.map((v) => v.options[name] ?? "-"))] }))
      : [
          {
            name: DEFAULT_OPTION.name,
            values: fallback ? p.variants.map((v) => v.title ?? v.sku) : [DEFAULT_OPTION.value],
          },
        ];
  return {
    title: p.title,
    descriptionHtml: p.description ?? "",
    vendor: p.vendor,
    status: p.status === "active" ? "ACTIVE" : p.status === "archived" ? "ARCHIVED" : "DRAFT",
    options,
    variants: p.variants.map((v) => ({
      sku: v.sku,
      price: new Big(v.price).toString(),
      compareAtPrice: v.compareAtPrice === undefined ? null : new Big(v.compareAtPrice).toString(),
      barcode: v.barcode ?? null,
      optionValues:
        names.length > 0
          ? names.map((n) => ({ optionName: n, name: v.options[n] ?? "-" }))
          : [{ optionName: DEFAULT_OPTION.name, name: fallback ? (v.title ?? v.sku) : DEFAULT_OPTION.value }],
    })),
  };
}

function current(p: ShopifyProduct): Desired {
  return {
    title: p.title,
    descriptionHtml: p.descriptionHtml,
    vendor: p.vendor || undefined,
    status: p.status === "ACTIVE" ? "ACTIVE" : p.status === "ARCHIVED" ? "ARCHIVED" : "DRAFT",
    options: p.options.map((o) => ({ name: o.name, values: o.values })),
    variants: p.variants.nodes.map((v) => ({
      sku: v.sku ?? "",
      price: new Big(v.price).toString(),
      compareAtPrice: v.compareAtPrice === null ? null : new Big(v.compareAtPrice).toString(),
      barcode: v.barcode,
      optionValues: v.selectedOptions.map((o) => ({ optionName: o.name, name: o.value })),
    })),
  };
}

export function productWriter(system: string, client: ShopifyClient): Writer<"product"> {
  async function read(id: string): Promise<ShopifyProduct | null> {
    return (await client.request(PRODUCT, { id }, z.object({ product: ShopifyProduct.nullable() }))).product;
  }

  async function writeOne(item: WriteItem<"product">, productId: string | null): Promise<WriteResult> {
    const p = item.record;
    if (p.variants.length > PRODUCT_VARIANTS_MAX) {
      return failed(
        item.key,
        "data",
        `product ${item.key} has ${p.variants.length} variants; at most ${PRODUCT_VARIANTS_MAX} are supported`,
        system,
        "variants",
      );
    }
    const want = desired(p);
    const existing = productId === null ? null : await read(productId);
    if (existing !== null && JSON.stringify(current(existing)) === JSON.stringify(want)) {
      return { key: item.key, ok: true, targetId: existing.id, action: "unchanged" };
    }
    const idBySku = new Map(existing?.variants.nodes.map((v) => [v.sku, v.id]) ?? []);
    const input = {
      title: want.title,
      descriptionHtml: want.descriptionHtml,
      ...(want.vendor === undefined ? {} : { vendor: want.vendor }),
      status: want.status,
      ...(existing === null ? { handle: handleFor(item.key) } : {}),
      productOptions: want.options.map((o) => ({ name: o.name, values: o.values.map((name) => ({ name })) })),
      variants: want.variants.map((v) => ({
        ...(idBySku.has(v.sku) ? { id: idBySku.get(v.sku) } : {}),
        optionValues: v.optionValues,
        price: v.price,
        compareAtPrice: v.compareAtPrice,
        barcode: v.barcode,
        inventoryItem: { sku: v.sku, tracked: true },
      })),
    };
    const data = await client.request(
      PRODUCT_SET,
      { input, identifier: existing === null ? null : { id: existing.id } },
      ProductSetAnswer,
    );
    const payload = data.productSet;
    if (payload === null || payload.userErrors.length > 0 || payload.product === null) {
      return userErrorResult(item.key, payload?.userErrors ?? [], system);
    }
    return {
      key: item.key,
      ok: true,
      targetId: payload.product.id,
      action: existing === null ? "created" : "updated",
    };
  }

  /** The product that owns these SKUs; a SKU on two products is refused rather than guessed. */
  function ownerOf(
    skus: string[],
    found: Map<string, { productId: string }[]>,
  ): { id: string | null; error?: string } {
    const owners = new Set(skus.flatMap((s) => (found.get(s) ?? []).map((v) => v.productId)));
    if (owners.size > 1)
      return {
        id: null,
        error: `SKUs ${skus.join(", ")} belong to ${owners.size} different Shopify products`,
      };
    return { id: [...owners][0] ?? null };
  }

  return {
    entity: "product",
    callsPerRecord: { create: 2, update: 2 },
    async upsert(items) {
      const found = await variantsBySku(
        client,
        items.flatMap((i) => i.record.variants.map((v) => v.sku)),
      );
      const results: WriteResult[] = [];
      for (const item of items) {
        results.push(
          await perItem(item.key, system, async () => {
            const owner = ownerOf(
              item.record.variants.map((v) => v.sku),
              found,
            );
            if (owner.error) return failed(item.key, "permanent", owner.error, system, "variants");
            return writeOne(item, item.targetId ?? owner.id);
          }),
        );
      }
      return results;
    },
    async findByExternalRef(_ref, record) {
      const sku = record.variants[0]?.sku;
      if (sku === undefined) return null;
      const found = await variantsBySku(client, [sku]);
      return found.get(sku)?.[0]?.productId ?? null;
    },
  };
}
