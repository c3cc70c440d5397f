import { SyncError } from "../../../core/errors.ts";
import type { Product } from "../../../core/model.ts";
import type { Stream } from "../../../ports/connector.ts";
import type { TrytonRow } from "../client.ts";
import { amount, latest } from "../codec.ts";
import type { TrytonContext } from "../context.ts";
import { bool, id, ids, str } from "../fields.ts";
import {
  COMPONENT_MODEL,
  type ComponentRow,
  canonicalComponents,
  componentRows,
  componentsUsed,
} from "../kits.ts";
import { changedRecords, type IndexSource, recordOfKey } from "../paging.ts";

export interface ProductNative {
  template: TrytonRow;
  variants: TrytonRow[];
  currency: string;
  /** Kit components of the template and its variants (product_kit; empty where it is not activated). */
  components?: ComponentRow[];
  /**
   * Language code → the template's name and the variants' descriptions (by variant id) read in that
   * language, for each translatable language other than the connection's own (see translationsOf).
   */
  languages?: Record<
    string,
    { names: Map<number, string | undefined>; descriptions: Map<number, string | undefined> }
  >;
  changedAt: string;
}

/** Services (shipping, discounts) are bookkeeping, not catalogue. */
const TEMPLATE_DOMAIN = [["type", "!=", "service"]];
const VARIANT_DOMAIN = [["template.type", "!=", "service"]];
/**
 * Archived records are read so the shop hears of them. Tryton adds `active = true` to every (sub-)domain that
 * does not name `active` itself, including each branch of an OR and the search behind a dotted field
 * (`template.type`), so an `active in [true, false]` clause at the top does not reach them: only the
 * `active_test` context turns the filter off everywhere.
 */
const WITH_ARCHIVED = { active_test: false };
const TEMPLATE_FIELDS = [
  "name",
  "code",
  "list_price",
  "active",
  "type",
  "salable",
  "categories",
  "write_date",
  "create_date",
];
const VARIANT_FIELDS = [
  "template",
  "code",
  "suffix_code",
  "active",
  "description",
  "write_date",
  "create_date",
];

/** The template's categories as category keys (their ids, see categoryStream); none: the field is left out. */
function categoriesOf(t: TrytonRow): { categories?: string[] } {
  const keys = ids(t, "categories")
    .sort((a, b) => a - b)
    .map(String);
  return keys.length > 0 ? { categories: keys } : {};
}

/**
 * The product's description: Tryton keeps one per variant (product.product), the canonical product one for
 * the product, so it is the first variant's (by id) — the product writer writes it onto every variant. None
 * (or empty): the field is left out.
 */
function descriptionOf(variants: TrytonRow[]): { description?: string } {
  const first = [...variants].sort((a, b) => a.id - b.id)[0];
  const text = first ? str(first, "description") : undefined;
  return text ? { description: text } : {};
}

/**
 * The product's title and description in each other language Tryton translates into, as Tryton answers
 * them: a language with no translation (or a fuzzy one, after the default text changed) reads as the
 * default text, and is given as such, so a shop that held an older translation is brought back to what
 * Tryton shows. No other translatable language leaves the field out.
 */
function translationsOf(n: ProductNative): { translations?: NonNullable<Product["translations"]> } {
  const title = str(n.template, "name");
  const first = [...n.variants].sort((a, b) => a.id - b.id)[0];
  const out: NonNullable<Product["translations"]> = {};
  for (const [lang, read] of Object.entries(n.languages ?? {})) {
    const t = read.names.get(n.template.id) ?? title;
    if (t === undefined) continue;
    const d = first ? (read.descriptions.get(first.id) ?? str(first, "description")) : undefined;
    out[lang] = { title: t, ...(d ? { description: d } : {}) };
  }
  return Object.keys(out).length > 0 ? { translations: out } : {};
}

/**
 * A kit's components (see kits.ts): the ones its first variant uses, its own or else the template's. A kit
 * whose variants use different components has no single canonical list: a data error naming it.
 */
function kitComponents(
  ctx: TrytonContext,
  key: string,
  n: ProductNative,
): { sku: string; quantity: number }[] {
  const rows = n.components ?? [];
  if (rows.length === 0) return [];
  const used = n.variants.map((v) => componentsUsed(rows, v.id, n.template.id));
  const sig = (cs: ComponentRow[]) => cs.map((c) => `${c.product}x${c.quantity}`).join(",");
  if (used.some((cs) => sig(cs) !== sig(used[0] ?? []))) {
    throw new SyncError("data", `kit ${key}: its variants are made of different components`, {
      system: ctx.name,
      field: "components",
    });
  }
  return canonicalComponents(ctx, key, used[0] ?? []);
}

/**
 * One canonical Product per product.template, its variants being the template's product.product records.
 * The template's code is the product key; each variant's code (template code + suffix) is its SKU. Tryton
 * gives a variant no price of its own: every variant carries the template's list price. The description is
 * the first variant's (see descriptionOf). An archived
 * template is "archived", one that is not salable "draft".
 */
export function productStream(ctx: TrytonContext): Stream<"product", ProductNative> {
  const { client } = ctx;
  const load = async (templateIds: number[], signal?: AbortSignal): Promise<Map<number, ProductNative>> => {
    const [templates, variants, currency, components, langs] = await Promise.all([
      client.searchRead(
        "product.template",
        [["id", "in", templateIds], ...TEMPLATE_DOMAIN],
        TEMPLATE_FIELDS,
        { context: WITH_ARCHIVED, signal },
      ),
      client.searchRead(
        "product.product",
        [["template", "in", templateIds], ...VARIANT_DOMAIN],
        VARIANT_FIELDS,
        { context: WITH_ARCHIVED, signal },
      ),
      ctx.currency(signal),
      componentRows(ctx, { templates: templateIds }, signal),
      ctx.otherLanguages(signal),
    ]);
    const languages: NonNullable<ProductNative["languages"]> = {};
    for (const lang of langs) {
      const context = { ...WITH_ARCHIVED, language: lang };
      const [names, descriptions] = await Promise.all([
        client.read("product.template", templateIds, ["name"], { context, signal }),
        client.read(
          "product.product",
          variants.map((v) => v.id),
          ["description"],
          { context, signal },
        ),
      ]);
      languages[lang] = {
        names: new Map(names.map((r) => [r.id, str(r, "name")])),
        descriptions: new Map(descriptions.map((r) => [r.id, str(r, "description")])),
      };
    }
    // Components set on one variant only (its parent_template may be empty when made over RPC).
    const variantIds = variants.map((v) => v.id);
    const ofVariants = await componentRows(
      ctx,
      { products: variantIds.filter((v) => !components.some((c) => c.parentProduct === v)) },
      signal,
    );
    components.push(...ofVariants.filter((c) => c.parentTemplate === undefined));
    const out = new Map<number, ProductNative>();
    for (const template of templates) {
      const own = variants.filter((v) => id(v, "template") === template.id);
      const at = latest(
        template.write_date,
        template.create_date,
        ...own.flatMap((v) => [v.write_date, v.create_date]),
      );
      out.set(template.id, {
        template,
        variants: own,
        currency,
        ...(langs.length > 0 ? { languages } : {}),
        components: components.filter(
          (c) => c.parentTemplate === template.id || own.some((v) => v.id === c.parentProduct),
        ),
        changedAt: at ?? "1970-01-01T00:00:00.000Z",
      });
    }
    return out;
  };
  return {
    entity: "product",
    sorted: true,
    list: async function* (req) {
      // A kit's components changed: the kit is read again (the component rows do not move its write_date).
      const kits: IndexSource[] = (await ctx.hasModel(COMPONENT_MODEL, req.signal))
        ? [
            {
              model: COMPONENT_MODEL,
              domain: [],
              fields: ["parent_template"],
              parentsOf: (r) => (id(r, "parent_template") ? [id(r, "parent_template") as number] : []),
            },
          ]
        : [];
      yield* changedRecords(
        client,
        [
          ...kits,
          {
            model: "product.template",
            domain: TEMPLATE_DOMAIN,
            fields: [],
            parentsOf: (r) => [r.id],
            context: WITH_ARCHIVED,
          },
          {
            // Products added to a category from the category's side: the category's write_date moves, not
            // theirs (its products are read again; unchanged ones are skipped by their hash). One taken
            // out of a category that way is seen at its own next change.
            model: "product.category",
            domain: [],
            fields: ["templates"],
            parentsOf: (r) => ids(r, "templates"),
          },
          {
            model: "product.product",
            domain: VARIANT_DOMAIN,
            fields: ["template"],
            parentsOf: (r) => (id(r, "template") ? [id(r, "template") as number] : []),
            context: WITH_ARCHIVED,
          },
        ],
        req,
        load,
      );
    },
    get: (key) => recordOfKey(key, load),
    idOf: (n) => String(n.template.id),
    updatedAtOf: (n) => n.changedAt,
    toCanonical(n): Product {
      const t = n.template;
      const key = str(t, "code");
      if (!key) {
        throw new SyncError("data", `product.template ${t.id} (${str(t, "name") ?? "no name"}) has no code`, {
          system: ctx.name,
          field: "key",
        });
      }
      if (n.variants.length === 0) {
        throw new SyncError("data", `product.template ${key} (id ${t.id}) has no variants`, {
          system: ctx.name,
          field: "variants",
        });
      }
      const price = amount(t.list_price);
      if (price === undefined) {
        throw new SyncError("data", `product.template ${key} (id ${t.id}) has no list price`, {
          system: ctx.name,
          field: "variants.price",
        });
      }
      return {
        source: ctx.name,
        sourceId: String(t.id),
        updatedAt: n.changedAt,
        key,
        title: str(t, "name") ?? key,
        ...descriptionOf(n.variants),
        ...translationsOf(n),
        status: !bool(t, "active", true) ? "archived" : !bool(t, "salable", true) ? "draft" : "active",
        currency: n.currency,
        categoryPath: [],
        ...categoriesOf(t),
        attributes: {},
        images: [],
        components: kitComponents(ctx, key, n),
        variants: n.variants.map((v) => {
          const sku = str(v, "code");
          if (!sku) {
            throw new SyncError("data", `variant product.product ${v.id} of ${key} has no code (SKU)`, {
              system: ctx.name,
              field: "variants.sku",
            });
          }
          const suffix = str(v, "suffix_code")?.replace(/^[-_./\s]+/, "");
          return {
            sku,
            title: suffix,
            price,
            options: (suffix && n.variants.length > 1 ? { Variant: suffix } : {}) as Record<string, string>,
            ...(bool(v, "active", true) ? {} : { status: "archived" as const }),
          };
        }),
      };
    },
  };
}
