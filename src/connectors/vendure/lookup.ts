/** Look-ups the writers share: variants by SKU, the channel the connection works in, stock locations. */
import { z } from "zod";
import { SyncError } from "../../core/errors.ts";
import type { VendureClient } from "./client.ts";

const BATCH = 100;

export const VariantRef = z.object({
  id: z.string(),
  sku: z.string(),
  productId: z.string(),
  price: z.number().int(),
  currencyCode: z.string(),
  /** The variant's price in each currency the channel sells in (Vendure 2.2+: one per currency). */
  prices: z.array(z.object({ currencyCode: z.string(), price: z.number().int() })),
  stockLevels: z.array(
    z.object({
      stockLocationId: z.string(),
      stockOnHand: z.number().int(),
      stockAllocated: z.number().int(),
    }),
  ),
});
export type VariantRef = z.infer<typeof VariantRef>;

const VARIANTS_BY_SKU = `query VariantsBySku($options: ProductVariantListOptions) {
  productVariants(options: $options) {
    items { id sku productId price currencyCode prices { currencyCode price } stockLevels { stockLocationId stockOnHand stockAllocated } }
    totalItems
  }
}`;
const VariantsAnswer = z.object({ productVariants: z.object({ items: z.array(VariantRef) }) });

/** Every (non-deleted) variant carrying each SKU, in the connection's channel or the one given. */
export async function variantsBySku(
  client: VendureClient,
  skus: readonly string[],
  channelToken?: string,
): Promise<Map<string, VariantRef[]>> {
  const out = new Map<string, VariantRef[]>();
  const unique = [...new Set(skus)];
  for (let i = 0; i < unique.length; i += BATCH) {
    const chunk = unique.slice(i, i + BATCH);
    const data = await client.request(
      VARIANTS_BY_SKU,
      { options: { take: BATCH * 2, filter: { sku: { in: chunk } } } },
      VariantsAnswer,
      { channelToken },
    );
    for (const v of data.productVariants.items) out.set(v.sku, [...(out.get(v.sku) ?? []), v]);
  }
  return out;
}

/** A product's slug in Vendure: derived from its key, so the key finds the product before it has variants. */
export function slugFor(text: string): string {
  return (
    text
      .toLowerCase()
      .normalize("NFD")
      .replace(/[\u0300-\u036f]/g, "")
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "") || "product"
  );
}

const PRODUCTS_BY_SLUG = `query ProductsBySlug($options: ProductListOptions) {
  products(options: $options) { items { id slug } }
}`;

/** Product ids by slug (non-deleted products of the connection's channel). */
export async function productIdsBySlug(
  client: VendureClient,
  slugs: readonly string[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const unique = [...new Set(slugs)];
  for (let i = 0; i < unique.length; i += BATCH) {
    const data = await client.request(
      PRODUCTS_BY_SLUG,
      { options: { take: BATCH, filter: { slug: { in: unique.slice(i, i + BATCH) } } } },
      z.object({ products: z.object({ items: z.array(z.object({ id: z.string(), slug: z.string() })) }) }),
    );
    for (const p of data.products.items) out.set(p.slug, p.id);
  }
  return out;
}

/** The single variant with this SKU, or why there is none. */
export function singleVariant(found: Map<string, VariantRef[]>, sku: string): VariantRef | string {
  const all = found.get(sku) ?? [];
  if (all.length === 0) return `no Vendure product variant has SKU "${sku}"`;
  if (all.length > 1) return `SKU "${sku}" is on ${all.length} Vendure variants`;
  return all[0] as VariantRef;
}

export const ChannelInfo = z.object({
  id: z.string(),
  code: z.string(),
  token: z.string(),
  defaultCurrencyCode: z.string(),
  /** The currencies the channel sells in, its default one among them. */
  availableCurrencyCodes: z.array(z.string()),
  /** The languages the channel offers (translations in others are refused by the writers). */
  availableLanguageCodes: z.array(z.string()).nullable(),
  defaultLanguageCode: z.string(),
  pricesIncludeTax: z.boolean(),
  defaultTaxZone: z.object({ id: z.string() }).nullable(),
  defaultShippingZone: z.object({ id: z.string() }).nullable(),
});
export type ChannelInfo = z.infer<typeof ChannelInfo>;
export const CHANNEL_FIELDS =
  "id code token defaultCurrencyCode availableCurrencyCodes availableLanguageCodes defaultLanguageCode pricesIncludeTax defaultTaxZone { id } defaultShippingZone { id }";

/** Loads a value once; a failed load is tried again next time. */
export function once<T>(load: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | null = null;
  return () => {
    value ??= load();
    value.catch(() => {
      value = null;
    });
    return value;
  };
}

export function activeChannel(client: VendureClient): () => Promise<ChannelInfo> {
  return once(
    async () =>
      (
        await client.request(
          `query ActiveChannel { activeChannel { ${CHANNEL_FIELDS} } }`,
          {},
          z.object({ activeChannel: ChannelInfo }),
        )
      ).activeChannel,
  );
}

export class StockLocations {
  private byName: Promise<Map<string, string>> | null = null;
  constructor(private readonly client: VendureClient) {}

  async idOf(name: string): Promise<string | null> {
    this.byName ??= this.client
      .request(
        "query StockLocations { stockLocations(options: { take: 100 }) { items { id name } } }",
        {},
        z.object({
          stockLocations: z.object({ items: z.array(z.object({ id: z.string(), name: z.string() })) }),
        }),
      )
      .then((d) => new Map(d.stockLocations.items.map((l) => [l.name, l.id])));
    this.byName.catch(() => {
      this.byName = null;
    });
    return (await this.byName).get(name) ?? null;
  }
}

/** Turns a mutation's ErrorResult into a SyncError for one record. */
export function errorResult(
  system: string,
  what: string,
  r: { errorCode?: string | null; message?: string | null },
  field?: string,
): SyncError {
  return new SyncError(
    "permanent",
    `Vendure refused ${what}: ${r.message ?? r.errorCode ?? "unknown error"}`,
    {
      system,
      field,
      vendorBody: r,
    },
  );
}
