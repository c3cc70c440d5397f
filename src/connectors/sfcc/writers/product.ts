/**
 * Products from the ERP, as the Products API models them: a product with one variant and no options is a
 * standard product whose id is the SKU; otherwise the product is a master (id: the product's key) with a
 * variation attribute per option (id from `attributeMap`, else the option name lower-cased) holding the
 * values the variants use, and each variant is its own product (id: the SKU) assigned to the master with
 * its variation values. Names are written in the configured locale, `online` from the status. The
 * product's categories mapped by `categoryMap` are assigned to it in the configured catalog (the
 * categories must exist there).
 *
 * What is already there is read first (the master with its attributes and variants, each variant, each
 * category assignment) and only what differs is written, so writing the same product again writes
 * nothing. Prices are not written: B2C Commerce keeps them in price books, which the four SCAPI documents
 * this connector is held to do not cover (docs/connectors/sfcc.md).
 */
import { z } from "zod";
import { SyncError } from "../../../core/errors.ts";
import type { Product, Variant } from "../../../core/model.ts";
import type { WriteResult, Writer } from "../../../ports/connector.ts";
import { toWrite } from "../../call-estimate.ts";
import { perItem } from "../../write-results.ts";
import { explained, type SfccClient } from "../client.ts";
import { SfccProduct as ProductSchema, type SfccProduct } from "../native.ts";

const enc = encodeURIComponent;
const MAX_ID = 100;
const Assignment = z.looseObject({ productId: z.string() });

function checkId(system: string, id: string, field: string): string {
  if (id.length === 0 || id.length > MAX_ID)
    throw new SyncError(
      "data",
      `${system}: ${field} ${JSON.stringify(id)} is not a B2C Commerce product id (1 to ${MAX_ID} characters)`,
      {
        system,
        field,
      },
    );
  return id;
}

/** The product's id in B2C Commerce: the SKU of a standard product, the key of a master. */
export function productIdOf(p: Pick<Product, "key" | "variants">): string {
  const [only] = p.variants;
  return p.variants.length === 1 && only && Object.keys(only.options).length === 0 ? only.sku : p.key;
}

export function attributeIdOf(client: SfccClient, option: string): string {
  return client.config.attributeMap?.[option] ?? option.trim().toLowerCase().replace(/\s+/g, "_");
}

export function productWriter(system: string, client: SfccClient): Writer<"product"> {
  const locale = client.config.locale;
  const productPath = (id: string, rest = "") => client.path("products", `/products/${enc(id)}${rest}`);
  const get = (id: string) => client.find(productPath(id), ProductSchema, "product");

  /** PUT of the product's own attributes when they differ; true when it wrote. */
  async function own(
    id: string,
    name: string,
    online: boolean,
    ean: string | undefined,
    brand: string | undefined,
    now: SfccProduct | null,
  ) {
    const same =
      now !== null &&
      now.name?.[locale] === name &&
      now.online === online &&
      (now.ean as string | undefined) === ean &&
      (now.brand as string | undefined) === brand;
    if (same) return false;
    await client.write(
      "PUT",
      productPath(id),
      {
        id,
        // PUT replaces the product's attributes: the other locales' names are kept.
        name: { ...(now?.name ?? {}), [locale]: name },
        online,
        ...(ean ? { ean } : {}),
        ...(brand ? { brand } : {}),
      },
      `product ${id}`,
    );
    return true;
  }

  async function writeOne(p: Product): Promise<WriteResult> {
    const online = p.status === "active";
    const id = checkId(system, productIdOf(p), p.variants.length === 1 ? "variants[0].sku" : "key");
    const master = id !== p.variants[0]?.sku || p.variants.length > 1;
    const current = await get(id);
    let wrote = false;
    if (!master) {
      const v = p.variants[0] as Variant;
      wrote = await own(id, p.title, online && v.status !== "archived", v.barcode, p.vendor, current);
    } else {
      if (current?.type?.variant)
        throw new SyncError(
          "data",
          `${system}: product ${id} is a variant in B2C Commerce and cannot be a master`,
          { system, field: "key" },
        );
      wrote = await own(id, p.title, online, undefined, p.vendor, current);
      // Variation attributes and their values.
      const wanted = new Map<string, Set<string>>();
      for (const v of p.variants) {
        checkId(system, v.sku, "variants.sku");
        if (Object.keys(v.options).length === 0)
          throw new SyncError(
            "data",
            `${system}: variant ${v.sku} of ${p.key} has no options; a master's variants need one value per variation attribute`,
            { system, field: "variants.options" },
          );
        for (const [option, value] of Object.entries(v.options)) {
          const a = attributeIdOf(client, option);
          if (!wanted.has(a)) wanted.set(a, new Set());
          wanted.get(a)?.add(value);
        }
      }
      const had = new Map(
        (current?.variationAttributes ?? []).map((a) => [
          a.id ?? a.attributeDefinitionId,
          new Set((a.values ?? []).map((x) => x.value)),
        ]),
      );
      for (const [a, values] of wanted) {
        const have = had.get(a);
        if (!have) {
          await client.write(
            "PUT",
            productPath(id, `/variation-attributes/${enc(a)}`),
            { id: a, attributeDefinitionId: a, values: [...values].map((value) => ({ value })) },
            `variation attribute ${a} of ${id}`,
          );
          wrote = true;
          continue;
        }
        for (const value of values) {
          if (have.has(value)) continue;
          await client.write(
            "PUT",
            productPath(id, `/variation-attributes/${enc(a)}/values/${enc(value)}`),
            { value },
            `value ${value} of ${a} of ${id}`,
          );
          wrote = true;
        }
      }
      // Variants: their own product, then their assignment to the master.
      const assigned = new Map((current?.variants ?? []).map((v) => [v.productId, v.variationValues ?? {}]));
      for (const v of p.variants) {
        const title = v.title ?? `${p.title} ${Object.values(v.options).join(" / ")}`;
        const vNow = await get(v.sku);
        if (vNow?.type?.master)
          throw new SyncError(
            "data",
            `${system}: SKU ${v.sku} is a master product in B2C Commerce and cannot be a variant of ${id}`,
            { system, field: "variants.sku" },
          );
        if (vNow?.master && vNow.master.masterId !== id)
          throw new SyncError(
            "data",
            `${system}: SKU ${v.sku} is already a variant of ${vNow.master.masterId}, not of ${id}`,
            { system, field: "variants.sku" },
          );
        if (await own(v.sku, title, online && v.status !== "archived", v.barcode, p.vendor, vNow))
          wrote = true;
        const values = Object.fromEntries(
          Object.entries(v.options).map(([o, x]) => [attributeIdOf(client, o), x]),
        );
        const now = assigned.get(v.sku);
        const same =
          now &&
          Object.keys(values).length === Object.keys(now).length &&
          Object.entries(values).every(([k, x]) => now[k] === x);
        if (!same) {
          await client.write(
            "PUT",
            productPath(id, `/variations/${enc(v.sku)}`),
            { productId: v.sku, variationValues: values },
            `variant ${v.sku} of ${id}`,
          );
          wrote = true;
        }
      }
    }
    const map = client.config.categoryMap ?? {};
    const categories = [
      ...new Set((p.categories ?? []).map((k) => map[k]).filter((c): c is string => c !== undefined)),
    ];
    for (const category of categories) {
      const at = client.path(
        "catalogs",
        `/catalogs/${enc(client.config.catalogId)}/categories/${enc(category)}/products/${enc(id)}`,
      );
      const found = await client.find(at, Assignment, "category assignment");
      if (found) continue;
      await client.write(
        "PUT",
        at,
        { catalogId: client.config.catalogId, categoryId: category, productId: id },
        `assignment of ${id} to ${category}`,
      );
      wrote = true;
    }
    return {
      key: p.key,
      ok: true,
      targetId: id,
      action: current === null ? "created" : wrote ? "updated" : "unchanged",
    };
  }

  return {
    entity: "product",
    async upsert(items) {
      const results: WriteResult[] = [];
      for (const item of items) {
        results.push(
          await perItem(item.key, system, async () => {
            try {
              return await writeOne(item.record);
            } catch (err) {
              throw explained(err);
            }
          }),
        );
      }
      return results;
    },
    async findByExternalRef(ref, record) {
      const id = productIdOf({ ...record, key: ref });
      if (id.length === 0 || id.length > MAX_ID) return null;
      const p = await get(id);
      return p ? p.id : null;
    },
    // Per product: the master read and written, per variant a read, a write and an assignment, per option a write.
    estimateCalls: (page) =>
      toWrite(page).reduce(
        (n, i) =>
          n +
          2 +
          i.record.variants.length * 3 +
          Object.keys(i.record.variants[0]?.options ?? {}).length +
          (i.record.categories ?? []).filter((k) => client.config.categoryMap?.[k]).length * 2,
        0,
      ) + page.lookups.length,
  };
}
