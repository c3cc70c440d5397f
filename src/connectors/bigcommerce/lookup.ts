/**
 * What the writers and streams look up in BigCommerce: customer groups (v2, kept for the connection), price
 * lists by name, and products with their variants by SKU (read fresh for every batch, 50 SKUs per call).
 */
import { z } from "zod";
import type { BigCommerceClient } from "./client.ts";
import { BcGroup, BcProduct, type BcVariant } from "./native.ts";

export const SKU_CHUNK = 50;

export class BigCommerceLookups {
  #groups: Promise<z.infer<typeof BcGroup>[]> | null = null;
  readonly #priceLists = new Map<string, number>();

  constructor(private readonly client: BigCommerceClient) {}

  get groupsLoaded(): boolean {
    return this.#groups !== null;
  }

  #allGroups() {
    this.#groups ??= (async () => {
      const out: z.infer<typeof BcGroup>[] = [];
      for (let page = 1; ; page++) {
        const got = await this.client.find(
          `/v2/customer_groups?page=${page}&limit=250`,
          z.array(BcGroup),
          "customer groups",
          [],
        );
        out.push(...(got ?? []));
        if (!got || got.length < 250) return out;
      }
    })().catch((err: unknown) => {
      this.#groups = null;
      throw err;
    });
    return this.#groups;
  }

  async groupName(id: number): Promise<string | undefined> {
    return (await this.#allGroups()).find((g) => g.id === id)?.name;
  }

  /** The customer group for a canonical group (groupMap, else the name matched case-insensitively). */
  async groupFor(group: string): Promise<{ id: number; name: string } | null> {
    const wanted = (this.client.config.groupMap?.[group] ?? group).toLowerCase();
    return (await this.#allGroups()).find((g) => g.name.toLowerCase() === wanted) ?? null;
  }

  /** A price list's id by name, creating the list when `create` (kept for the connection). */
  async priceList(name: string, create: boolean): Promise<number | null> {
    const known = this.#priceLists.get(name);
    if (known !== undefined) return known;
    const found = await this.client.all(
      `/v3/pricelists?name=${encodeURIComponent(name)}`,
      z.object({ id: z.number().int(), name: z.string() }).loose(),
      "price lists by name",
    );
    let id = found.find((l) => l.name === name)?.id ?? null;
    if (id === null && create) {
      const made = await this.client.write(
        "POST",
        "/v3/pricelists",
        { name, active: true },
        z.object({ data: z.object({ id: z.number().int() }).loose() }),
        "price list create",
      );
      id = made.data.id;
    }
    if (id !== null) this.#priceLists.set(name, id);
    return id;
  }

  /** Products holding these SKUs (as product or variant SKU), with their variants. */
  async products(
    skus: readonly string[],
  ): Promise<{ bySku: Map<string, BcProduct>; variants: Map<string, BcVariant> }> {
    const bySku = new Map<string, BcProduct>();
    const variants = new Map<string, BcVariant>();
    const wanted = [...new Set(skus)].filter((s) => s !== "");
    for (let i = 0; i < wanted.length; i += SKU_CHUNK) {
      const chunk = wanted.slice(i, i + SKU_CHUNK);
      const found = await this.client.all(
        `/v3/catalog/products?sku:in=${chunk.map(encodeURIComponent).join(",")}&include=variants`,
        BcProduct,
        "products by SKU",
      );
      for (const p of found) {
        if (p.sku && chunk.includes(p.sku)) bySku.set(p.sku, p);
        for (const v of p.variants ?? []) if (chunk.includes(v.sku)) variants.set(v.sku, v);
      }
    }
    return { bySku, variants };
  }
}
