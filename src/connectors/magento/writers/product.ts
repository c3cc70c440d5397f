/**
 * Products: a canonical product with one variant and no options is a Magento simple product (its SKU the
 * variant's); one with options is a configurable product (SKU: the product key) over one simple child per
 * variant, each child carrying its option values as the configurable attributes' option ids (not visible
 * on its own). Everything is written through `/rest/all/` so names and statuses are the global values, not
 * one store view's. Products are read first (one search per chunk of SKUs) and only what differs is
 * written: children before their parent, the parent with its options and the children's ids.
 */

import { SyncError } from "../../../core/errors.ts";
import type { Product, Variant } from "../../../core/model.ts";
import type { WriteResult, Writer } from "../../../ports/connector.ts";
import { callsFor, distinct, toWrite } from "../../call-estimate.ts";
import { perItem } from "../../write-results.ts";
import { explained, type MagentoClient } from "../client.ts";
import { type MagentoLookups, SKU_CHUNK } from "../lookup.ts";
import { MagentoProduct } from "../native.ts";

const ENABLED = 1;
const DISABLED = 2;
const VISIBLE = 4;
const NOT_VISIBLE = 1;

export const isConfigurable = (p: Product) =>
  p.variants.length > 1 || p.variants.some((v) => Object.keys(v.options).length > 0);

/** The SKU the product has in Magento: the configurable's (its key) or the simple's (its one variant's). */
export const mainSku = (p: Product) => (isConfigurable(p) ? p.key : (p.variants[0] as Variant).sku);

interface Desired {
  sku: string;
  type_id: "simple" | "configurable";
  name: string;
  status: number;
  visibility: number;
  price?: number;
  custom: Record<string, string>;
  options?: { attribute_id: string; label: string; position: number; values: { value_index: number }[] }[];
  childSkus?: string[];
}

const customOf = (p: MagentoProduct) =>
  Object.fromEntries((p.custom_attributes ?? []).map((a) => [a.attribute_code, String(a.value)]));

/** Whether the product Magento holds differs from what is to be written. */
function differs(held: MagentoProduct, want: Desired, childIds: number[]): boolean {
  if (held.name !== want.name || held.status !== want.status || held.visibility !== want.visibility)
    return true;
  if (want.price !== undefined && held.price !== want.price) return true;
  const custom = customOf(held);
  if (Object.entries(want.custom).some(([k, v]) => custom[k] !== v)) return true;
  if (want.type_id === "configurable") {
    const ext = held.extension_attributes;
    const links = [...(ext?.configurable_product_links ?? [])].sort((a, b) => a - b);
    if (JSON.stringify(links) !== JSON.stringify([...childIds].sort((a, b) => a - b))) return true;
    const heldOptions = (ext?.configurable_product_options ?? []).map((o) => ({
      attribute_id: o.attribute_id,
      values: (o.values ?? []).map((v) => v.value_index).sort((a, b) => a - b),
    }));
    const wantOptions = (want.options ?? []).map((o) => ({
      attribute_id: o.attribute_id,
      values: o.values.map((v) => v.value_index).sort((a, b) => a - b),
    }));
    if (JSON.stringify(heldOptions) !== JSON.stringify(wantOptions)) return true;
  }
  return false;
}

export function productWriter(
  system: string,
  client: MagentoClient,
  lookups: MagentoLookups,
): Writer<"product"> {
  const config = client.config;
  const attributeCode = (option: string) =>
    config.attributeMap?.[option] ??
    option
      .normalize("NFD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "_")
      .replace(/^_|_$/g, "");

  async function save(
    held: MagentoProduct | undefined,
    want: Desired,
    childIds: number[],
  ): Promise<MagentoProduct> {
    const product: Record<string, unknown> = {
      sku: want.sku,
      name: want.name,
      type_id: want.type_id,
      status: want.status,
      visibility: want.visibility,
      ...(want.price !== undefined ? { price: want.price } : {}),
      ...(Object.keys(want.custom).length > 0
        ? {
            custom_attributes: Object.entries(want.custom).map(([attribute_code, value]) => ({
              attribute_code,
              value,
            })),
          }
        : {}),
      extension_attributes: {
        ...(held ? {} : { website_ids: config.websiteIds }),
        ...(want.type_id === "configurable"
          ? { configurable_product_options: want.options ?? [], configurable_product_links: childIds }
          : {}),
      },
    };
    if (!held) product.attribute_set_id = config.attributeSetId;
    return held
      ? client.write(
          "PUT",
          "all",
          `/products/${encodeURIComponent(want.sku)}`,
          { product },
          MagentoProduct,
          "product update",
        )
      : client.write("POST", "all", "/products", { product }, MagentoProduct, "product create");
  }

  async function writeOne(p: Product, held: Map<string, MagentoProduct>, key: string): Promise<WriteResult> {
    const status = p.status === "active" ? ENABLED : DISABLED;
    const priced = (existing: MagentoProduct | undefined, v: Variant) =>
      config.productPrices === "always" || !existing ? Number(v.price) : undefined;
    for (const v of p.variants)
      if (Number(v.price) < 0)
        throw new SyncError("permanent", `variant ${v.sku}: Magento refuses a negative price (${v.price})`, {
          system,
          field: "price",
        });
    let wrote = false;
    let created = false;
    if (!isConfigurable(p)) {
      const v = p.variants[0] as Variant;
      const existing = held.get(v.sku);
      const price = priced(existing, v);
      const want: Desired = {
        sku: v.sku,
        type_id: "simple",
        name: p.title,
        status: v.status === "archived" ? DISABLED : status,
        visibility: VISIBLE,
        ...(price !== undefined ? { price } : {}),
        custom: {},
      };
      if (existing && existing.type_id !== "simple")
        throw new SyncError(
          "permanent",
          `SKU ${v.sku} is a ${existing.type_id} product in Magento, not a simple one`,
          { system, field: "sku" },
        );
      if (!existing || differs(existing, want, [])) {
        await save(existing, want, []);
        wrote = true;
        created = !existing;
      }
      return {
        key,
        ok: true,
        targetId: v.sku,
        action: created ? "created" : wrote ? "updated" : "unchanged",
      };
    }
    // Configurable: the option attributes and their option ids first.
    const names = [...new Set(p.variants.flatMap((v) => Object.keys(v.options)))];
    const attributes = new Map<string, { code: string; id: number; options: Map<string, number> }>();
    for (const n of names) {
      const code = attributeCode(n);
      const labels = [
        ...new Set(p.variants.map((v) => v.options[n]).filter((x): x is string => x !== undefined)),
      ];
      const a = await lookups.attribute(code, labels);
      attributes.set(n, { code, ...a });
    }
    const childIds: number[] = [];
    for (const v of p.variants) {
      const missing = names.filter((n) => v.options[n] === undefined);
      if (missing.length > 0)
        throw new SyncError("data", `variant ${v.sku} has no value for option ${missing.join(", ")}`, {
          system,
          field: "variants.options",
        });
      const existing = held.get(v.sku);
      if (existing && existing.type_id !== "simple")
        throw new SyncError(
          "permanent",
          `SKU ${v.sku} is a ${existing.type_id} product in Magento, not a simple one`,
          { system, field: "sku" },
        );
      const price = priced(existing, v);
      const want: Desired = {
        sku: v.sku,
        type_id: "simple",
        name: v.title ?? `${p.title} ${names.map((n) => v.options[n]).join(" ")}`,
        status: v.status === "archived" ? DISABLED : status,
        visibility: NOT_VISIBLE,
        ...(price !== undefined ? { price } : {}),
        custom: Object.fromEntries(
          names.map((n) => {
            const a = attributes.get(n)!;
            return [a.code, String(a.options.get(v.options[n]!))];
          }),
        ),
      };
      let child = existing;
      if (!existing || differs(existing, want, [])) {
        child = await save(existing, want, []);
        wrote = true;
      }
      childIds.push((child as MagentoProduct).id);
    }
    const parent = held.get(p.key);
    if (parent && parent.type_id !== "configurable")
      throw new SyncError(
        "permanent",
        `SKU ${p.key} is a ${parent.type_id} product in Magento, not a configurable one`,
        { system, field: "key" },
      );
    const want: Desired = {
      sku: p.key,
      type_id: "configurable",
      name: p.title,
      status,
      visibility: VISIBLE,
      custom: {},
      options: names.map((n, i) => {
        const a = attributes.get(n)!;
        const values = [...new Set(p.variants.map((v) => a.options.get(v.options[n]!)!))];
        return {
          attribute_id: String(a.id),
          label: n,
          position: i,
          values: values.map((value_index) => ({ value_index })),
        };
      }),
    };
    if (!parent || differs(parent, want, childIds)) {
      await save(parent, want, childIds);
      wrote = true;
      created = !parent;
    }
    return { key, ok: true, targetId: p.key, action: created ? "created" : wrote ? "updated" : "unchanged" };
  }

  const skusOf = (p: Product) => [...(isConfigurable(p) ? [p.key] : []), ...p.variants.map((v) => v.sku)];

  return {
    entity: "product",
    async upsert(items) {
      const held = await lookups.products(items.flatMap((i) => skusOf(i.record)));
      const results: WriteResult[] = [];
      for (const item of items) {
        results.push(
          await perItem(item.key, system, async () => {
            try {
              return await writeOne(item.record, held, item.key);
            } catch (err) {
              throw explained(err);
            }
          }),
        );
      }
      return results;
    },
    async findByExternalRef(_ref, record) {
      const sku = mainSku(record);
      return (await lookups.products([sku])).has(sku) ? sku : null;
    },
    // The SKU search per chunk, then a write per product and child that differs.
    estimateCalls: (page) =>
      callsFor(distinct(toWrite(page).flatMap((i) => skusOf(i.record))), SKU_CHUNK) +
      toWrite(page).reduce((n, i) => n + (isConfigurable(i.record) ? i.record.variants.length + 1 : 1), 0) +
      page.lookups.length,
  };
}
