/**
 * Lookups the writers share: variants by SKU (batched, many SKUs per call) and locations by name (cached
 * for the connection's life, since merchants rarely add warehouses mid-sync).
 */
import { z } from "zod";
import type { ShopifyClient } from "./client.ts";
import { LOCATIONS, VARIANTS_BY_SKU } from "./operations.ts";

export interface VariantRef {
  id: string;
  sku: string;
  inventoryItemId: string;
  productId: string;
}

const VariantsAnswer = z.object({
  productVariants: z.object({
    nodes: z.array(
      z.object({
        id: z.string(),
        sku: z.string().nullable(),
        inventoryItem: z.object({ id: z.string() }),
        product: z.object({ id: z.string() }),
      }),
    ),
  }),
});

const LocationsAnswer = z.object({
  locations: z.object({
    nodes: z.array(z.object({ id: z.string(), name: z.string(), isActive: z.boolean() })),
  }),
});

/** SKUs per search; keeps the query string short and the answer within one page. */
const SKUS_PER_CALL = 50;

function quote(sku: string): string {
  return `"${sku.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** The calls `variantsBySku` makes for these SKUs, for the writers' plan estimates. */
export function variantLookupCalls(skus: Iterable<string>): number {
  return Math.ceil(new Set(skus).size / SKUS_PER_CALL);
}

export async function variantsBySku(
  client: ShopifyClient,
  skus: Iterable<string>,
): Promise<Map<string, VariantRef[]>> {
  const unique = [...new Set(skus)];
  const out = new Map<string, VariantRef[]>();
  for (let i = 0; i < unique.length; i += SKUS_PER_CALL) {
    const chunk = unique.slice(i, i + SKUS_PER_CALL);
    const query = chunk.map((s) => `sku:${quote(s)}`).join(" OR ");
    // Twice the SKUs: a SKU shared by two variants must show up as ambiguous, not be silently cut off.
    const data = await client.request(
      VARIANTS_BY_SKU,
      { first: Math.min(250, chunk.length * 2), query },
      VariantsAnswer,
    );
    for (const n of data.productVariants.nodes) {
      // Shopify's sku filter is not exact on every store (prefix/tokenised match); keep exact hits only.
      if (n.sku === null || !chunk.includes(n.sku)) continue;
      const list = out.get(n.sku) ?? [];
      list.push({ id: n.id, sku: n.sku, inventoryItemId: n.inventoryItem.id, productId: n.product.id });
      out.set(n.sku, list);
    }
  }
  return out;
}

export class LocationCache {
  private byName: Map<string, string> | null = null;
  constructor(private readonly client: ShopifyClient) {}

  /** Whether the locations were read already (the next `idOf` costs no call). */
  get loaded(): boolean {
    return this.byName !== null;
  }

  async idOf(name: string): Promise<string | null> {
    if (this.byName === null) {
      const data = await this.client.request(LOCATIONS, {}, LocationsAnswer);
      this.byName = new Map(data.locations.nodes.filter((l) => l.isActive).map((l) => [l.name, l.id]));
    }
    return this.byName.get(name) ?? null;
  }
}

/** The one variant carrying `sku`, or why there is not exactly one (a SKU on two variants is not guessed). */
export function singleVariant(found: Map<string, VariantRef[]>, sku: string): VariantRef | string {
  const variants = found.get(sku) ?? [];
  if (variants.length === 1 && variants[0]) return variants[0];
  return variants.length === 0
    ? `no Shopify variant has SKU "${sku}"`
    : `SKU "${sku}" is on ${variants.length} Shopify variants`;
}
