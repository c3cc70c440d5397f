import { SyncError } from "../../../core/errors.ts";
import type { Product } from "../../../core/model.ts";
import type { Stream } from "../../../ports/connector.ts";
import type { OdooRow } from "../client.ts";
import type { OdooContext } from "../context.ts";
import { bool, ids, many2one, money, num, str, uniq } from "../fields.ts";
import { latestWrite, type Rolled, type RollupSpec, rollupPages } from "../rollup.ts";
import { odooToIso } from "../time.ts";
import { isOdooRoot } from "./category.ts";
import {
  ANY_BOM,
  BOM_LINE_MODEL,
  BOM_MODEL,
  bomOf,
  checked,
  hasKits,
  type KitBom,
  partsOf,
  readBoms,
  skusOf,
} from "./kits.ts";

export interface ProductNative extends Rolled {
  template: OdooRow;
  variants: { row: OdooRow; options: Record<string, string> }[];
  /** The template's active kit BoMs (mrp.bom of type phantom; none without Manufacturing). */
  boms?: KitBom[];
  /** Component variant id → its SKU, for the BoMs' lines. */
  componentSkus?: Record<number, string | undefined>;
}

const TEMPLATE_FIELDS = [
  "name",
  "default_code",
  "list_price",
  "description_sale",
  "categ_id",
  "active",
  "weight",
  "product_variant_ids",
  "write_date",
];
const VARIANT_FIELDS = [
  "product_tmpl_id",
  "default_code",
  "barcode",
  "lst_price",
  "price_extra",
  "weight",
  "active",
  "product_template_attribute_value_ids",
  "write_date",
];
// Services (shipping, discounts) are ERP bookkeeping, not catalogue; archived templates are read so the
// shop hears that they were archived.
const BASE = [
  ["type", "!=", "service"],
  ["active", "in", [true, false]],
];
// Archived variants count too: archiving one is a change the shop must hear of.
const ANY_VARIANT = [["active", "in", [true, false]]];

/**
 * One canonical Product per product.template with its variants (product.product) and their attribute
 * values (product.template.attribute.value, which hold the variants' price extras in Odoo 16+). A change to
 * a variant (barcode, internal reference) or to an attribute value's price extra does not move the
 * template's write_date in Odoo, so the stream's updatedAt is the latest write of all three (see rollup.ts).
 */
export function productStream(ctx: OdooContext): Stream<"product", ProductNative> {
  const { client } = ctx;
  const load = async (templateIds: number[], signal?: AbortSignal): Promise<ProductNative[]> => {
    if (templateIds.length === 0) return [];
    const [templates, variants, values, boms] = await Promise.all([
      client.searchRead("product.template", [["id", "in", templateIds], ...BASE], TEMPLATE_FIELDS, {
        order: "id asc",
        signal,
      }),
      client.searchRead(
        "product.product",
        [["product_tmpl_id", "in", templateIds], ...ANY_VARIANT],
        VARIANT_FIELDS,
        { order: "id asc", signal },
      ),
      client.searchRead(
        "product.template.attribute.value",
        [["product_tmpl_id", "in", templateIds]],
        ["name", "attribute_id", "product_tmpl_id", "write_date"],
        { order: "id asc", signal },
      ),
      (await hasKits(ctx, signal)) ? readBoms(ctx, templateIds, signal) : null,
    ]);
    const componentSkus = boms
      ? Object.fromEntries(
          await skusOf(
            ctx,
            boms.kits.flatMap((b) => b.lines.map((l) => l.product)),
            signal,
          ),
        )
      : undefined;
    const valueById = new Map(values.map((v) => [v.id, v]));
    // Rows by template, in their id order: one pass each, not a scan of the page per template.
    const byTemplate = (rows: OdooRow[]) => {
      const out = new Map<number, OdooRow[]>();
      for (const r of rows) {
        const t = many2one(r, "product_tmpl_id")?.id;
        if (t === undefined) continue;
        const list = out.get(t);
        if (list) list.push(r);
        else out.set(t, [r]);
      }
      return out;
    };
    const variantsOf = byTemplate(variants);
    const valuesOf = byTemplate(values);
    const bomsOf = byTemplate(boms?.rows ?? []);
    const bomTemplate = new Map((boms?.rows ?? []).map((b) => [b.id, many2one(b, "product_tmpl_id")?.id]));
    const linesOf = new Map<number, OdooRow[]>();
    for (const l of boms?.lines ?? []) {
      const t = bomTemplate.get(many2one(l, "bom_id")?.id ?? 0);
      if (t !== undefined) linesOf.set(t, [...(linesOf.get(t) ?? []), l]);
    }
    return templates.map((template) => {
      const own = variantsOf.get(template.id) ?? [];
      const ownValues = valuesOf.get(template.id) ?? [];
      // A BoM (or one of its lines) edited is a change to its product: its write_date counts too.
      const ownBoms = [...(bomsOf.get(template.id) ?? []), ...(linesOf.get(template.id) ?? [])];
      return {
        template,
        changedAt: latestWrite([template, ...own, ...ownValues, ...ownBoms]),
        ...(boms && componentSkus
          ? { boms: boms.kits.filter((b) => b.template === template.id), componentSkus }
          : {}),
        variants: own.map((row) => {
          const options: Record<string, string> = {};
          for (const id of ids(row, "product_template_attribute_value_ids")) {
            const value = valueById.get(id);
            const attribute = value ? many2one(value, "attribute_id")?.name : undefined;
            const name = value ? str(value, "name") : undefined;
            if (attribute && name) options[attribute] = name;
          }
          return { row, options };
        }),
      };
    });
  };
  /**
   * A kit's components: the ones of the BoM Odoo uses for its variants (see kits.ts). A kit whose variants
   * use different BoMs' components has no single canonical list: a data error naming it.
   */
  const kitComponents = (key: string, n: ProductNative): Product["components"] => {
    const boms = n.boms ?? [];
    if (boms.length === 0) return [];
    const used = n.variants.map(({ row }) => {
      const bom = bomOf(boms, row.id, n.template.id);
      return bom ? checked(ctx, key, partsOf(bom), n.componentSkus ?? {}) : [];
    });
    const sig = (cs: { sku: string; quantity: number }[]) =>
      cs.map((c) => `${c.quantity} x ${c.sku}`).join(", ");
    const first = used[0] ?? [];
    const other = used.findIndex((cs) => sig(cs) !== sig(first));
    if (other >= 0) {
      const skuAt = (i: number) => str(n.variants[i]?.row ?? { id: 0 }, "default_code") ?? "?";
      throw new SyncError(
        "data",
        `kit ${key}: its variants are made of different components (${skuAt(0)}: ${sig(first) || "none"}; ${skuAt(other)}: ${sig(used[other] ?? []) || "none"})`,
        { system: ctx.name, field: "components" },
      );
    }
    return first;
  };
  const toTemplate = (rows: OdooRow[]) => uniq(rows.map((r) => many2one(r, "product_tmpl_id")?.id));
  const spec: RollupSpec<ProductNative> = {
    sources: [
      {
        model: "product.template",
        domain: BASE,
        fields: [],
        parentsOf: (rows) => rows.map((r) => r.id),
        parentField: "id",
      },
      {
        model: "product.product",
        domain: ANY_VARIANT,
        fields: ["product_tmpl_id"],
        parentsOf: toTemplate,
        parentField: "product_tmpl_id",
      },
      {
        model: "product.template.attribute.value",
        domain: [],
        fields: ["product_tmpl_id"],
        parentsOf: toTemplate,
        parentField: "product_tmpl_id",
      },
    ],
    load,
    parentIdOf: (n) => n.template.id,
  };
  // With Manufacturing: a BoM or a BoM line written makes its product change (a line's write does not move
  // its BoM's write_date).
  const withKits: RollupSpec<ProductNative> = {
    ...spec,
    sources: [
      ...spec.sources,
      {
        model: BOM_MODEL,
        domain: ANY_BOM,
        fields: ["product_tmpl_id"],
        parentsOf: toTemplate,
        parentField: "product_tmpl_id",
      },
      {
        model: BOM_LINE_MODEL,
        domain: [],
        fields: ["bom_id"],
        parentsOf: async (rows, signal) => {
          const bomIds = uniq(rows.map((r) => many2one(r, "bom_id")?.id));
          if (bomIds.length === 0) return [];
          const parents = await client.searchRead(
            BOM_MODEL,
            [["id", "in", bomIds], ...ANY_BOM],
            ["product_tmpl_id"],
            { signal },
          );
          return toTemplate(parents);
        },
      },
    ],
  };

  return {
    entity: "product",
    sorted: true,
    list: async function* (req) {
      yield* rollupPages(client, (await hasKits(ctx, req.signal)) ? withKits : spec, req);
    },
    async get(id) {
      const n = Number(id);
      return Number.isInteger(n) && n > 0 ? ((await load([n]))[0] ?? null) : null;
    },
    idOf: (n) => String(n.template.id),
    updatedAtOf: (n) => odooToIso(n.changedAt),
    toCanonical(n): Product {
      const t = n.template;
      const key = str(t, "default_code") ?? `odoo-template-${t.id}`;
      if (n.variants.length === 0) {
        throw new SyncError("data", `product.template ${key} (id ${t.id}) has no variants`, {
          field: "variants",
        });
      }
      const categ = many2one(t, "categ_id");
      const category = categ?.name;
      return {
        source: ctx.name,
        sourceId: String(t.id),
        updatedAt: odooToIso(n.changedAt),
        key,
        title: str(t, "name") ?? key,
        description: str(t, "description_sale"),
        status: bool(t, "active") ? "active" : "archived",
        currency: ctx.config.currency,
        categoryPath: category ? category.split(" / ").filter((c, i) => !(i === 0 && c === "All")) : [],
        // The category's key (see categoryStream); none when the product sits in the root only.
        ...(categ && !isOdooRoot({ name: categ.name }) ? { categories: [String(categ.id)] } : {}),
        attributes: {},
        images: [],
        components: kitComponents(key, n),
        variants: n.variants.map(({ row, options }) => {
          const sku = str(row, "default_code");
          if (!sku) {
            throw new SyncError(
              "data",
              `variant product.product(${row.id}) of ${key} has no internal reference (SKU)`,
              {
                field: "variants.sku",
              },
            );
          }
          const title = Object.values(options).join(" / ");
          const weight = num(row, "weight");
          return {
            sku,
            title: title || undefined,
            barcode: str(row, "barcode"),
            price: money(num(row, "lst_price")),
            options,
            weightGrams: weight > 0 ? Math.round(weight * 1000) : undefined,
          };
        }),
      };
    },
  };
}
