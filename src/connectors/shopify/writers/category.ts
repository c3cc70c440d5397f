/**
 * Canonical Category → a Shopify collection, and the tree → the navigation menu `categories`.
 *
 * Shopify collections are flat: the tree a shop shows lives in its navigation menus, whose items nest
 * (three levels deep). So each category is a custom collection holding its products (the product writer
 * puts a product in the collections of its categories), its key, parent key and position are kept in the
 * collection's JSON metafield `passerelle.category` (the collection's identity here: the key survives
 * renames and moves), and after each batch the menu `categories` is made to match the tree: nested by
 * parent, siblings by position then name. A rename retitles the collection (its handle, published in
 * URLs, is kept); a move changes its metafield and its place in the menu. Categories below the third
 * level have their collection but no menu item. Names in other languages are not written: Shopify keeps
 * translations in its Translations API per shop locale, which this connector does not use yet.
 */
import { z } from "zod";
import { categoryCycles, cycleReason, parentsFirst } from "../../../core/category.ts";
import { SyncError } from "../../../core/errors.ts";
import type { Category } from "../../../core/model.ts";
import type { WriteItem, WriteResult, Writer } from "../../../ports/connector.ts";
import { perRecord } from "../../call-estimate.ts";
import { type ShopifyClient, UserErrors } from "../client.ts";
import {
  CATEGORY_COLLECTIONS,
  CATEGORY_MENU,
  COLLECTION_CREATE,
  COLLECTION_UPDATE,
  MENU_CREATE,
  MENU_UPDATE,
} from "../operations.ts";
import { failed, perItem, userErrorResult } from "./results.ts";

export const CATEGORY_MENU_HANDLE = "categories";
const MENU_DEPTH = 3;

const Meta = z.object({
  key: z.string(),
  parent: z.string().nullable(),
  position: z.number().int().nullable(),
});
type Meta = z.infer<typeof Meta>;

export interface CategoryCollection {
  id: string;
  title: string;
  meta: Meta;
}

const CollectionsPage = z.object({
  collections: z.object({
    pageInfo: z.object({ hasNextPage: z.boolean(), endCursor: z.string().nullable() }),
    nodes: z.array(
      z.object({ id: z.string(), title: z.string(), category: z.object({ value: z.string() }).nullable() }),
    ),
  }),
});

/** The shop's category collections by category key. */
export async function categoryCollections(client: ShopifyClient): Promise<Map<string, CategoryCollection>> {
  const out = new Map<string, CategoryCollection>();
  for (let after: string | null = null; ; ) {
    const data: z.infer<typeof CollectionsPage> = await client.request(
      CATEGORY_COLLECTIONS,
      { after },
      CollectionsPage,
    );
    for (const n of data.collections.nodes) {
      if (!n.category) continue;
      let meta: Meta | null = null;
      try {
        const parsed = Meta.safeParse(JSON.parse(n.category.value));
        meta = parsed.success ? parsed.data : null;
      } catch {
        meta = null;
      }
      if (meta) out.set(meta.key, { id: n.id, title: n.title, meta });
    }
    if (!data.collections.pageInfo.hasNextPage) return out;
    after = data.collections.pageInfo.endCursor;
  }
}

interface MenuItem {
  title: string;
  resourceId: string | null;
  items?: MenuItem[] | null;
}
const MenuItemShape: z.ZodType<MenuItem> = z.lazy(() =>
  z.object({ title: z.string(), resourceId: z.string().nullable(), items: z.array(MenuItemShape).nullish() }),
);
const MenuAnswer = z.object({
  menus: z.object({
    nodes: z.array(z.object({ id: z.string(), handle: z.string(), items: z.array(MenuItemShape) })),
  }),
});
const MenuWrite = z.object({ menu: z.object({ id: z.string() }).nullable(), userErrors: UserErrors });

/** The menu items the tree calls for: nested by parent, siblings by position (none last) then title. */
export function menuItems(tree: Map<string, CategoryCollection>): MenuItem[] {
  const children = new Map<string | null, CategoryCollection[]>();
  for (const c of tree.values()) {
    const parent = c.meta.parent !== null && tree.has(c.meta.parent) ? c.meta.parent : null;
    children.set(parent, [...(children.get(parent) ?? []), c]);
  }
  const level = (parent: string | null, depth: number, seen: Set<string>): MenuItem[] =>
    (children.get(parent) ?? [])
      .filter((c) => !seen.has(c.meta.key))
      .sort(
        (a, b) =>
          (a.meta.position ?? Number.MAX_SAFE_INTEGER) - (b.meta.position ?? Number.MAX_SAFE_INTEGER) ||
          a.title.localeCompare(b.title),
      )
      .map((c) => ({
        title: c.title,
        resourceId: c.id,
        items: depth < MENU_DEPTH ? level(c.meta.key, depth + 1, new Set([...seen, c.meta.key])) : [],
      }));
  return level(null, 1, new Set());
}

const shape = (items: MenuItem[]): unknown =>
  items.map((i) => ({ title: i.title, resourceId: i.resourceId, items: shape(i.items ?? []) }));

export function categoryWriter(system: string, client: ShopifyClient): Writer<"category"> {
  async function syncMenu(tree: Map<string, CategoryCollection>): Promise<void> {
    const want = menuItems(tree);
    const data = await client.request(CATEGORY_MENU, { query: `handle:${CATEGORY_MENU_HANDLE}` }, MenuAnswer);
    const menu = data.menus.nodes.find((m) => m.handle === CATEGORY_MENU_HANDLE);
    if (menu && JSON.stringify(shape(menu.items)) === JSON.stringify(shape(want))) return;
    const items = (list: MenuItem[]): unknown[] =>
      list.map((i) => ({
        title: i.title,
        type: "COLLECTION",
        resourceId: i.resourceId,
        items: items(i.items ?? []),
      }));
    const answer = menu
      ? (
          await client.request(
            MENU_UPDATE,
            { id: menu.id, title: "Categories", handle: CATEGORY_MENU_HANDLE, items: items(want) },
            z.object({ menuUpdate: MenuWrite }),
          )
        ).menuUpdate
      : (
          await client.request(
            MENU_CREATE,
            { title: "Categories", handle: CATEGORY_MENU_HANDLE, items: items(want) },
            z.object({ menuCreate: MenuWrite }),
          )
        ).menuCreate;
    if (answer.userErrors.length > 0) {
      throw new SyncError(
        "permanent",
        `Shopify refused the category menu: ${answer.userErrors.map((e) => e.message).join("; ")}`,
        { system, field: "menu", vendorBody: answer.userErrors },
      );
    }
  }

  async function writeOne(
    item: WriteItem<"category">,
    tree: Map<string, CategoryCollection>,
  ): Promise<WriteResult> {
    const c: Category = item.record;
    if (c.parent !== undefined && !tree.has(c.parent)) {
      return failed(
        item.key,
        "retryable",
        `category ${item.key}: its parent category ${c.parent} is not in Shopify yet (it is written once its parent is)`,
        system,
        "parent",
      );
    }
    const known = new Map([...tree.values()].map((x) => [x.meta.key, x.meta.parent ?? undefined]));
    const cycle = categoryCycles([{ key: c.key, parent: c.parent }], known).get(c.key);
    if (cycle) return failed(item.key, "data", cycleReason(cycle), system, "parent");
    const meta: Meta = { key: c.key, parent: c.parent ?? null, position: c.position ?? null };
    const existing = tree.get(c.key);
    if (existing && existing.title === c.name && JSON.stringify(existing.meta) === JSON.stringify(meta)) {
      return { key: item.key, ok: true, targetId: existing.id, action: "unchanged" };
    }
    const metafields = [
      { namespace: "passerelle", key: "category", type: "json", value: JSON.stringify(meta) },
    ];
    const Answer = z.object({ collection: z.object({ id: z.string() }).nullable(), userErrors: UserErrors });
    const payload = existing
      ? (
          await client.request(
            COLLECTION_UPDATE,
            { collection: { id: existing.id, title: c.name, metafields } },
            z.object({ collectionUpdate: Answer }),
          )
        ).collectionUpdate
      : (
          await client.request(
            COLLECTION_CREATE,
            { collection: { title: c.name, metafields } },
            z.object({ collectionCreate: Answer }),
          )
        ).collectionCreate;
    if (payload.userErrors.length > 0 || !payload.collection) {
      return userErrorResult(item.key, payload.userErrors, system);
    }
    tree.set(c.key, { id: payload.collection.id, title: c.name, meta });
    return {
      key: item.key,
      ok: true,
      targetId: payload.collection.id,
      action: existing ? "updated" : "created",
    };
  }

  return {
    entity: "category",
    // The collections read once, one mutation per category, the menu read and written.
    estimateCalls: perRecord({ create: 1, update: 1, perBatch: 3 }),
    async upsert(items) {
      const tree = await categoryCollections(client);
      const results: WriteResult[] = [];
      for (const node of parentsFirst(items.map((i) => ({ key: i.key, parent: i.record.parent, item: i })))) {
        results.push(await perItem(node.key, system, () => writeOne(node.item, tree)));
      }
      await syncMenu(tree);
      return results;
    },
    async findByExternalRef(ref) {
      return (await categoryCollections(client)).get(ref)?.id ?? null;
    },
  };
}
