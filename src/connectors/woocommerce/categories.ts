/**
 * Canonical Category → a WooCommerce product category (`/products/categories`): the name, the parent
 * (`parent`, 0 at the top) and the position among siblings (`menu_order`, which the shop's category lists
 * sort by). The slug is sent on create only (see below), so a rename keeps the URL a shop has published;
 * the description and image stay the merchant's.
 *
 * Which category a record is: the link's target id first; without a link (a first write, or a create whose
 * link a crash lost), the category whose slug carries the key: a category is created with the slug
 * `<name>-c<key>` ("apparel-c12"), readable in the shop's URLs and unique to the key, and WordPress keeps a
 * slug through renames and moves, so the category an interrupted write created is found again, never
 * created twice. A lookup by name under the parent would find it too, but it would merge two ERP
 * categories of one name under one parent into one, and take over a category the merchant made by hand;
 * with its own slug, WordPress creates the category beside a merchant's of the same name (it refuses a
 * second name under one parent only when no distinct slug is given: "term_exists").
 *
 * Translations are not written, and no record fails for them: WooCommerce core keeps one name per category
 * (a second language needs a plugin such as WPML or Polylang, each with its own API), so the name in the
 * ERP's default language is the shop's and the others are left out, as the product writer does with a
 * product's translated titles. A parent not in WooCommerce yet fails the record (retried later; the flow
 * writes parents first, see core/category.ts); a move under its own descendant is refused as a cycle.
 */
import { z } from "zod";
import { categoryCycles, cycleReason, parentsFirst } from "../../core/category.ts";
import type { Category } from "../../core/model.ts";
import type { WriteContext, WriteItem, WriteResult, Writer } from "../../ports/connector.ts";
import { perRecord } from "../call-estimate.ts";
import { failed, perItem } from "../write-results.ts";
import { q, type WooClient } from "./client.ts";

export const WooCategory = z.object({
  id: z.number().int(),
  name: z.string(),
  slug: z.string(),
  parent: z.number().int(),
  menu_order: z.number().int(),
});
export type WooCategory = z.infer<typeof WooCategory>;

/**
 * A term name as WordPress answers it: it stores names through its HTML sanitizer, so "Kids & Baby" comes
 * back as "Kids &amp; Baby". Compared decoded, or every run would rename it again.
 */
export function termName(name: string): string {
  return name
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#0?39;/g, "'")
    .replace(/&amp;/g, "&");
}

/** Every product category of the shop, by id. */
export async function readCategories(client: WooClient): Promise<Map<number, WooCategory>> {
  const byId = new Map<number, WooCategory>();
  for (let page = 1; ; page++) {
    const res = await client.page(
      `/products/categories?${q({ per_page: 100, page, context: "edit" })}`,
      z.array(WooCategory.loose()),
    );
    for (const c of res.rows) byId.set(c.id, c);
    if (page >= res.totalPages || res.rows.length === 0) break;
  }
  return byId;
}

/** What the slug carries of the key: plain for letters and digits, else its UTF-8 in hex (never ambiguous). */
const keyTag = (key: string): string =>
  /^[0-9a-z]+$/.test(key) ? `c${key}` : `x${Buffer.from(key, "utf8").toString("hex")}`;

/** The slug a category is created with: its name made URL-safe, then its key's tag. */
export function categorySlug(key: string, name: string): string {
  const words = name
    .toLowerCase()
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "")
    .slice(0, 60)
    .replace(/-$/, "");
  return words ? `${words}-${keyTag(key)}` : keyTag(key);
}

/** The category created for `key`, by its slug's tag (the name part may be an old name). */
function bySlug(tree: Map<number, WooCategory>, key: string): WooCategory | null {
  const tag = keyTag(key);
  return [...tree.values()].find((c) => c.slug === tag || c.slug.endsWith(`-${tag}`)) ?? null;
}

export function categoryWriter(system: string, client: WooClient): Writer<"category"> {
  async function writeOne(
    item: WriteItem<"category">,
    tree: Map<number, WooCategory>,
    written: Map<string, number>,
    wctx: WriteContext,
  ): Promise<WriteResult> {
    const c: Category = item.record;
    let parent = 0;
    if (c.parent !== undefined) {
      // A parent written in this batch is not linked yet: its id is the one just written.
      const linked = written.get(c.parent) ?? Number(await wctx.resolve("category", c.parent));
      if (!linked || !tree.has(linked)) {
        return failed(
          item.key,
          "retryable",
          `category ${item.key}: its parent category ${c.parent} is not in WooCommerce yet (it is written once its parent is)`,
          system,
          "parent",
        );
      }
      parent = linked;
    }
    const existing =
      (item.targetId !== null ? tree.get(Number(item.targetId)) : undefined) ?? bySlug(tree, c.key);
    if (!existing) {
      const made = await client.write(
        "POST",
        "/products/categories",
        {
          name: c.name,
          slug: categorySlug(c.key, c.name),
          parent,
          ...(c.position !== undefined ? { menu_order: c.position } : {}),
        },
        WooCategory.loose(),
        "category create",
      );
      tree.set(made.id, made);
      written.set(item.key, made.id);
      return { key: item.key, ok: true, targetId: String(made.id), action: "created" };
    }
    written.set(item.key, existing.id);
    const body: { name?: string; parent?: number; menu_order?: number } = {};
    if (termName(existing.name) !== c.name) body.name = c.name;
    if (existing.parent !== parent) body.parent = parent;
    if (c.position !== undefined && existing.menu_order !== c.position) body.menu_order = c.position;
    if (Object.keys(body).length === 0) {
      return { key: item.key, ok: true, targetId: String(existing.id), action: "unchanged" };
    }
    if (body.parent !== undefined && parent !== 0) {
      // The shop's tree, with this category under its new parent: a move under its own descendant is refused.
      const known = new Map(
        [...tree.values()].map((x) => [String(x.id), x.parent === 0 ? undefined : String(x.parent)]),
      );
      const cycle = categoryCycles([{ key: String(existing.id), parent: String(parent) }], known).get(
        String(existing.id),
      );
      if (cycle) {
        const label = (id: string) => termName(tree.get(Number(id))?.name ?? id);
        return failed(
          item.key,
          "data",
          `${cycleReason(cycle.map(label))} [category ${item.key}]`,
          system,
          "parent",
        );
      }
    }
    const now = await client.write(
      "PUT",
      `/products/categories/${existing.id}`,
      body,
      WooCategory.loose(),
      "category update",
    );
    tree.set(now.id, now);
    return { key: item.key, ok: true, targetId: String(now.id), action: "updated" };
  }

  return {
    entity: "category",
    // The tree is read once per batch (a page per 100 categories); then one call per category written.
    estimateCalls: perRecord({ create: 1, update: 1, perBatch: 1 }),
    async upsert(items, wctx) {
      const tree = await readCategories(client);
      const written = new Map<string, number>();
      const order = parentsFirst(items.map((i) => ({ key: i.key, parent: i.record.parent, item: i })));
      const results: WriteResult[] = [];
      for (const { item } of order) {
        results.push(await perItem(item.key, system, () => writeOne(item, tree, written, wctx)));
      }
      return results;
    },
    async findByExternalRef(_ref, record) {
      const found = bySlug(await readCategories(client), record.key);
      return found ? String(found.id) : null;
    },
  };
}
