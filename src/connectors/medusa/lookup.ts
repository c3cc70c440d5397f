/**
 * What the writers look up in Medusa and keep for the connection: the store's default sales channel and
 * shipping profile, stock locations by name or id, customer groups by name, and variants by SKU.
 */
import { z } from "zod";
import { SyncError } from "../../core/errors.ts";
import { type MedusaClient, q } from "./client.ts";
import { Variant } from "./native.ts";

/** SKUs per lookup call (they travel as repeated query parameters). */
export const SKU_CHUNK = 50;

const Location = z.object({ id: z.string(), name: z.string() });

export class MedusaLookups {
  private defaultsP: Promise<{ salesChannelId: string | null; shippingProfileId: string | null }> | null =
    null;
  private locationsP: Promise<z.infer<typeof Location>[]> | null = null;
  private groups = new Map<string, string>();

  constructor(readonly client: MedusaClient) {}

  /** The sales channel and shipping profile new products get (config first, then the store's defaults). */
  defaults() {
    this.defaultsP ??= (async () => {
      const c = this.client.config;
      let salesChannelId = c.salesChannelId ?? null;
      if (!salesChannelId) {
        const { stores } = await this.client.get(
          `/admin/stores?${q({ fields: "id,default_sales_channel_id" })}`,
          z.object({ stores: z.array(z.object({ default_sales_channel_id: z.string().nullish() })) }),
          "store defaults",
        );
        salesChannelId = stores[0]?.default_sales_channel_id ?? null;
      }
      let shippingProfileId = c.shippingProfileId ?? null;
      if (!shippingProfileId) {
        const { shipping_profiles } = await this.client.get(
          `/admin/shipping-profiles?${q({ type: "default", fields: "id,type" })}`,
          z.object({ shipping_profiles: z.array(z.object({ id: z.string() })) }),
          "default shipping profile",
        );
        shippingProfileId = shipping_profiles[0]?.id ?? null;
      }
      return { salesChannelId, shippingProfileId };
    })().catch((err: unknown) => {
      this.defaultsP = null;
      throw err;
    });
    return this.defaultsP;
  }

  /** The Medusa stock location id a canonical location code stands for (locationMap, then name or id). */
  async location(code: string): Promise<string | null> {
    this.locationsP ??= this.client
      .get(
        `/admin/stock-locations?${q({ fields: "id,name", limit: 1000 })}`,
        z.object({ stock_locations: z.array(Location) }),
        "stock locations",
      )
      .then((r) => r.stock_locations)
      .catch((err: unknown) => {
        this.locationsP = null;
        throw err;
      });
    const wanted = this.client.config.locationMap?.[code] ?? code;
    const all = await this.locationsP;
    return (all.find((l) => l.id === wanted) ?? all.find((l) => l.name === wanted))?.id ?? null;
  }

  /** Whether the locations were loaded already (for plans). */
  get locationsLoaded(): boolean {
    return this.locationsP !== null;
  }

  /** The customer group named `name`, created when `create` and missing. */
  async group(name: string, create: boolean): Promise<string | null> {
    const known = this.groups.get(name);
    if (known) return known;
    const { customer_groups } = await this.client.get(
      `/admin/customer-groups?${q({ name, fields: "id,name" })}`,
      z.object({ customer_groups: z.array(z.object({ id: z.string(), name: z.string() })) }),
      "customer group by name",
    );
    let id = customer_groups.find((g) => g.name === name)?.id ?? null;
    if (!id && create) {
      const made = await this.client.write(
        "POST",
        `/admin/customer-groups?${q({ fields: "id" })}`,
        { name },
        z.object({ customer_group: z.object({ id: z.string() }) }),
        "customer group create",
      );
      id = made.customer_group.id;
    }
    if (id) this.groups.set(name, id);
    return id;
  }

  /** SKU → variant (with its own prices), for the SKUs Medusa holds. */
  variants(skus: readonly string[]): Promise<Map<string, Variant>> {
    return bySku(skus, (chunk) =>
      this.client
        .get(
          `/admin/product-variants?${q({ sku: chunk, fields: "id,sku,title,product_id,*prices", limit: chunk.length * 2 })}`,
          z.object({ variants: z.array(Variant) }),
          "variants by SKU",
        )
        .then((r) => r.variants),
    );
  }
}

/**
 * SKU → row for the SKUs Medusa holds, asked `SKU_CHUNK` SKUs a call. A SKU filter can match more rows than
 * asked (Medusa matches lists loosely), so only rows whose SKU was asked in that call are kept.
 */
export async function bySku<R extends { sku?: string | null }>(
  skus: readonly string[],
  fetch: (chunk: string[]) => Promise<R[]>,
): Promise<Map<string, R>> {
  const found = new Map<string, R>();
  const wanted = [...new Set(skus)];
  for (let i = 0; i < wanted.length; i += SKU_CHUNK) {
    const chunk = wanted.slice(i, i + SKU_CHUNK);
    for (const r of await fetch(chunk)) if (r.sku && chunk.includes(r.sku)) found.set(r.sku, r);
  }
  return found;
}

/** A record's SKU that Medusa does not hold, as the record's failure. */
export const noSku = (system: string, sku: string) =>
  new SyncError("permanent", `Medusa has no variant with SKU ${JSON.stringify(sku)}`, {
    system,
    field: "sku",
  });
