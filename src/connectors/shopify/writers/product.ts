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
import { toWrite } from "../../call-estimate.ts";
import { type BulkOptions, runBulkMutation } from "../bulk.ts";
import { type ShopifyClient, UserErrors } from "../client.ts";
import { variantLookupCalls, variantsBySku } from "../lookup.ts";
import { ShopifyProduct } from "../native.ts";
import { PRODUCT, PRODUCT_COLLECTIONS, PRODUCT_SET, PRODUCT_VARIANTS_MAX } from "../operations.ts";
import { DEFAULT_OPTION } from "../streams/product.ts";
import { type CategoryCollection, categoryCollections } from "./category.ts";
import { failed, perItem, userErrorResult } from "./results.ts";

/** A bulk mutation's calls when it is not kept waiting: staged upload, start, one poll. */
const BULK_CALLS = 3;

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
  /** The collections of the product's categories (sorted); absent when the product carries no categories. */
  collections?: string[];
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

/** productSet as a bulk mutation: one line of variables per product, only the id read back. */
export const BULK_PRODUCT_SET = `mutation ProductSet($input: ProductSetInput!, $identifier: ProductSetIdentifiers) {
  productSet(input: $input, identifier: $identifier) { product { id } userErrors { field message code } }
}`;

const BulkProductSetLine = z.object({
  productSet: z
    .object({ product: z.object({ id: z.string() }).nullable(), userErrors: UserErrors })
    .nullable(),
});

export interface ProductWriterOptions {
  /** Batches of at least this many products go through a bulk mutation (default: never). */
  bulkThreshold?: number;
  bulk?: BulkOptions;
}

export function productWriter(
  system: string,
  client: ShopifyClient,
  opts: ProductWriterOptions = {},
): Writer<"product"> {
  async function read(id: string): Promise<ShopifyProduct | null> {
    return (await client.request(PRODUCT, { id }, z.object({ product: ShopifyProduct.nullable() }))).product;
  }

  /** The collections of a product's categories, or why they cannot be named (a category not in the shop yet). */
  function collectionsOf(
    p: Product,
    tree: Map<string, CategoryCollection> | null,
  ): { ids?: string[]; missing?: string } {
    if (p.categories === undefined) return {};
    const ids: string[] = [];
    for (const key of p.categories) {
      const c = tree?.get(key);
      if (!c) return { missing: key };
      ids.push(c.id);
    }
    return { ids: ids.sort() };
  }

  const categoryMissing = (key: string, category: string) =>
    failed(
      key,
      "retryable",
      `product ${key} is in category ${category}, which is not in Shopify yet (run the categories flow first; the product is written once it is)`,
      system,
      "categories",
    );

  async function writeOne(
    item: WriteItem<"product">,
    productId: string | null,
    tree: Map<string, CategoryCollection> | null,
  ): Promise<WriteResult> {
    const p = item.record;
    const inCollections = collectionsOf(p, tree);
    if (inCollections.missing !== undefined) return categoryMissing(item.key, inCollections.missing);
    if (p.variants.length > PRODUCT_VARIANTS_MAX) {
      return failed(
        item.key,
        "data",
        `product ${item.key} has ${p.variants.length} variants; at most ${PRODUCT_VARIANTS_MAX} are supported`,
        system,
        "variants",
      );
    }
    const want = { ...desired(p), ...(inCollections.ids ? { collections: inCollections.ids } : {}) };
    const existing = productId === null ? null : await read(productId);
    const now = existing === null ? null : current(existing);
    if (now !== null && existing !== null && want.collections !== undefined) {
      const data = await client.request(
        PRODUCT_COLLECTIONS,
        { id: existing.id },
        z.object({
          product: z
            .object({ collections: z.object({ nodes: z.array(z.object({ id: z.string() })) }) })
            .nullable(),
        }),
      );
      now.collections = (data.product?.collections.nodes ?? []).map((c) => c.id).sort();
    }
    if (existing !== null && JSON.stringify(now) === JSON.stringify(want)) {
      return { key: item.key, ok: true, targetId: existing.id, action: "unchanged" };
    }
    const idBySku = new Map(existing?.variants.nodes.map((v) => [v.sku, v.id]) ?? []);
    const data = await client.request(
      PRODUCT_SET,
      {
        input: inputFor(item.key, want, idBySku, existing === null),
        identifier: existing === null ? null : { id: existing.id },
      },
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

  function inputFor(key: string, want: Desired, idBySku: Map<string | null, string>, creating: boolean) {
    return {
      title: want.title,
      descriptionHtml: want.descriptionHtml,
      ...(want.vendor === undefined ? {} : { vendor: want.vendor }),
      status: want.status,
      ...(creating ? { handle: handleFor(key) } : {}),
      ...(want.collections ? { collections: want.collections } : {}),
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
  }

  /**
   * The batch as one bulk mutation. The engine has already planned these as creates or updates (their
   * hash changed), so existing products are not read first; their variants keep their ids through the
   * SKU lookup, and the product is found by `targetId` or by its SKUs.
   */
  async function writeBulk(
    items: WriteItem<"product">[],
    found: Map<string, { id: string; productId: string }[]>,
    tree: Map<string, CategoryCollection> | null,
  ): Promise<WriteResult[]> {
    const results = new Map<string, WriteResult>();
    const sent: { item: WriteItem<"product">; creating: boolean }[] = [];
    const lines: Record<string, unknown>[] = [];
    for (const item of items) {
      const skus = item.record.variants.map((v) => v.sku);
      const owner = ownerOf(skus, found);
      if (owner.error) {
        results.set(item.key, failed(item.key, "permanent", owner.error, system, "variants"));
        continue;
      }
      if (item.record.variants.length > PRODUCT_VARIANTS_MAX) {
        results.set(
          item.key,
          failed(
            item.key,
            "data",
            `product ${item.key} has ${item.record.variants.length} variants; at most ${PRODUCT_VARIANTS_MAX} are supported`,
            system,
            "variants",
          ),
        );
        continue;
      }
      const inCollections = collectionsOf(item.record, tree);
      if (inCollections.missing !== undefined) {
        results.set(item.key, categoryMissing(item.key, inCollections.missing));
        continue;
      }
      const productId = item.targetId ?? owner.id;
      const idBySku = new Map<string | null, string>();
      for (const sku of skus) {
        const v = found.get(sku)?.find((x) => x.productId === productId);
        if (v) idBySku.set(sku, v.id);
      }
      sent.push({ item, creating: productId === null });
      lines.push({
        input: inputFor(
          item.key,
          { ...desired(item.record), ...(inCollections.ids ? { collections: inCollections.ids } : {}) },
          idBySku,
          productId === null,
        ),
        identifier: productId === null ? null : { id: productId },
      });
    }
    if (lines.length > 0) {
      const answers = await runBulkMutation(client, system, BULK_PRODUCT_SET, lines, opts.bulk);
      for (const [i, { item, creating }] of sent.entries()) {
        const answer = answers[i];
        const parsed = BulkProductSetLine.safeParse(answer?.data);
        const payload = parsed.success ? parsed.data.productSet : null;
        if (payload?.product && payload.userErrors.length === 0) {
          results.set(item.key, {
            key: item.key,
            ok: true,
            targetId: payload.product.id,
            action: creating ? "created" : "updated",
          });
        } else if (payload && payload.userErrors.length > 0) {
          results.set(item.key, userErrorResult(item.key, payload.userErrors, system));
        } else {
          const message = answer?.errors?.map((e) => e.message).join("; ") || "no answer for this line";
          results.set(item.key, failed(item.key, "permanent", message, system));
        }
      }
    }
    return items.map((i) => results.get(i.key) as WriteResult);
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
    estimateCalls(page) {
      const items = toWrite(page);
      // The SKU lookup of the page, then per product: a productSet, after reading the product when it
      // exists; a bulk mutation instead stages its file, starts and polls (at least once). An interrupted
      // create is looked up by one of its SKUs first.
      const lookups = variantLookupCalls(items.flatMap((i) => i.record.variants.map((v) => v.sku)));
      const bulk = opts.bulkThreshold !== undefined && items.length >= opts.bulkThreshold;
      const writes = bulk ? BULK_CALLS : page.create.length + 2 * page.update.length;
      return (items.length > 0 ? lookups + writes : 0) + page.lookups.length;
    },
    async upsert(items) {
      const found = await variantsBySku(
        client,
        items.flatMap((i) => i.record.variants.map((v) => v.sku)),
      );
      // The shop's category collections, read once for a batch whose products carry categories.
      const tree = items.some((i) => i.record.categories !== undefined)
        ? await categoryCollections(client)
        : null;
      if (opts.bulkThreshold !== undefined && items.length >= opts.bulkThreshold) {
        return writeBulk(items, found, tree);
      }
      const results: WriteResult[] = [];
      for (const item of items) {
        results.push(
          await perItem(item.key, system, async () => {
            const owner = ownerOf(
              item.record.variants.map((v) => v.sku),
              found,
            );
            if (owner.error) return failed(item.key, "permanent", owner.error, system, "variants");
            return writeOne(item, item.targetId ?? owner.id, tree);
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
