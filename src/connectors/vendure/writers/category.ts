/**
 * Canonical Category → a Vendure collection. Collections, not facets, hold the tree: a collection has a
 * parent, a position among its siblings and a name and slug per language, which is what a category tree
 * is; a facet's values are flat. Products are linked through a facet value per category (see
 * category-facet.ts): the collection's one filter is that value, with `inheritFilters` off so a child
 * collection holds its own products, not only those also in its parent.
 *
 * A collection is found by its filter: the one whose facet-value filter names the category's value. A
 * rename updates the collection's and the value's names (the slug a shop has published is kept); a move
 * is `moveCollection` under the new parent; a translation in a language the channel does not offer fails
 * the record naming it. A parent not in Vendure yet fails the record (retried later); a parent chain that
 * comes back to the category through collections written earlier fails it as a cycle.
 */
import { z } from "zod";
import { categoryCycles, cycleReason, parentsFirst } from "../../../core/category.ts";
import type { WriteItem, WriteResult, Writer } from "../../../ports/connector.ts";
import { perRecord } from "../../call-estimate.ts";
import type { VendureClient } from "../client.ts";
import { type ChannelInfo, slugFor } from "../lookup.ts";
import { type CategoryFacet, categoryValueCode, ensureCategoryFacet } from "./category-facet.ts";
import { failed, perItem } from "./results.ts";

const FILTER = "facet-value-filter";

const COLLECTIONS = `query Collections($options: CollectionListOptions) {
  collections(options: $options) {
    totalItems
    items { id parentId position slug name translations { languageCode name slug } filters { code args { name value } } }
  }
}`;
const Collection = z.object({
  id: z.string(),
  parentId: z.string().nullable(),
  position: z.number().int(),
  slug: z.string(),
  name: z.string(),
  translations: z.array(z.object({ languageCode: z.string(), name: z.string(), slug: z.string() })),
  filters: z.array(
    z.object({ code: z.string(), args: z.array(z.object({ name: z.string(), value: z.string() })) }),
  ),
});
type Collection = z.infer<typeof Collection>;
const CollectionsAnswer = z.object({
  collections: z.object({ totalItems: z.number().int(), items: z.array(Collection) }),
});

/** The facet value a collection filters on, when its filter is a category's. */
function valueIdOf(c: Collection): string | null {
  const f = c.filters.find((x) => x.code === FILTER);
  const raw = f?.args.find((a) => a.name === "facetValueIds")?.value;
  if (!raw) return null;
  try {
    const ids = JSON.parse(raw) as unknown;
    return Array.isArray(ids) && ids.length === 1 ? String(ids[0]) : null;
  } catch {
    return null;
  }
}

interface Tree {
  facet: CategoryFacet;
  byId: Map<string, Collection>;
  /** Facet value id → its collection. */
  byValue: Map<string, Collection>;
  /** The hidden root every top-level collection hangs from (null while there is no collection). */
  rootId: string | null;
}

export function categoryWriter(
  system: string,
  client: VendureClient,
  channel: () => Promise<ChannelInfo>,
): Writer<"category"> {
  async function readTree(lang: string): Promise<Tree> {
    const facet = await ensureCategoryFacet(client, lang);
    const all: Collection[] = [];
    for (let skip = 0; ; skip += 100) {
      const data = await client.request(COLLECTIONS, { options: { skip, take: 100 } }, CollectionsAnswer);
      all.push(...data.collections.items);
      if (all.length >= data.collections.totalItems || data.collections.items.length === 0) break;
    }
    const byId = new Map(all.map((c) => [c.id, c]));
    const byValue = new Map<string, Collection>();
    for (const c of all) {
      const v = valueIdOf(c);
      if (v !== null) byValue.set(v, c);
    }
    const rootId = all.find((c) => c.parentId !== null && !byId.has(c.parentId))?.parentId ?? null;
    return { facet, byId, byValue, rootId };
  }

  const collectionOf = (tree: Tree, key: string): Collection | null => {
    const value = tree.facet.values.get(categoryValueCode(key));
    return value ? (tree.byValue.get(value.id) ?? null) : null;
  };

  async function writeOne(item: WriteItem<"category">, tree: Tree, ch: ChannelInfo): Promise<WriteResult> {
    const c = item.record;
    const lang = ch.defaultLanguageCode;
    const offered = ch.availableLanguageCodes ?? [];
    const foreign = Object.keys(c.translations).filter((l) => l !== lang && !offered.includes(l));
    if (foreign.length > 0) {
      return failed(
        item.key,
        "data",
        `category ${item.key} has a name in ${foreign.join(", ")}, which the Vendure channel does not offer (it offers ${offered.join(", ") || lang}); add the language to the channel or drop the translation in the flow's mapping`,
        system,
        "translations",
      );
    }
    const names: Record<string, string> = { ...c.translations, [lang]: c.name };
    let parentId: string | null = null;
    if (c.parent !== undefined) {
      const parent = collectionOf(tree, c.parent);
      if (!parent) {
        return failed(
          item.key,
          "retryable",
          `category ${item.key}: its parent category ${c.parent} is not in Vendure yet (it is written once its parent is)`,
          system,
          "parent",
        );
      }
      parentId = parent.id;
    }
    // The value that links products: created with the category, renamed with it.
    const code = categoryValueCode(c.key);
    let value = tree.facet.values.get(code);
    const valueTranslations = Object.entries(names).map(([languageCode, name]) => ({
      languageCode,
      name,
    }));
    if (!value) {
      const data = await client.request(
        `mutation CreateFacetValues($input: [CreateFacetValueInput!]!) { createFacetValues(input: $input) { id code name } }`,
        { input: [{ facetId: tree.facet.id, code, translations: valueTranslations }] },
        z.object({
          createFacetValues: z.array(z.object({ id: z.string(), code: z.string(), name: z.string() })),
        }),
      );
      const made = data.createFacetValues[0];
      if (!made) throw new Error(`Vendure created no facet value for category ${item.key}`);
      value = { ...made, translations: valueTranslations };
      tree.facet.values.set(code, value);
    } else if (!sameNames(value.translations, names)) {
      await client.request(
        `mutation UpdateFacetValues($input: [UpdateFacetValueInput!]!) { updateFacetValues(input: $input) { id } }`,
        { input: [{ id: value.id, translations: valueTranslations }] },
        z.unknown(),
      );
      value.translations = valueTranslations;
    }
    const existing = tree.byValue.get(value.id) ?? null;
    if (existing === null) {
      const data = await client.request(
        `mutation CreateCollection($input: CreateCollectionInput!) { createCollection(input: $input) { ${FIELDS} } }`,
        {
          input: {
            ...(parentId ? { parentId } : {}),
            isPrivate: false,
            inheritFilters: false,
            filters: [
              {
                code: FILTER,
                arguments: [
                  { name: "facetValueIds", value: JSON.stringify([value.id]) },
                  { name: "containsAny", value: "false" },
                  { name: "combineWithAnd", value: "true" },
                ],
              },
            ],
            translations: Object.entries(names).map(([languageCode, name]) => ({
              languageCode,
              name,
              slug: slugFor(name),
              description: "",
            })),
          },
        },
        z.object({ createCollection: Collection }),
      );
      let made = data.createCollection;
      if (c.position !== undefined && made.position !== c.position)
        made = await move(made, made.parentId, c.position);
      remember(tree, made, value.id);
      return { key: item.key, ok: true, targetId: made.id, action: "created" };
    }
    const targetParent = parentId ?? tree.rootId;
    const moves =
      (parentId !== null && existing.parentId !== parentId) ||
      (parentId === null && existing.parentId !== tree.rootId);
    const reorders = c.position !== undefined && existing.position !== c.position;
    const renames = !sameNames(existing.translations, names);
    if (!moves && !reorders && !renames) {
      return { key: item.key, ok: true, targetId: existing.id, action: "unchanged" };
    }
    // The known tree, with this category under its new parent: a move under its own descendant is refused.
    if (moves) {
      const known = new Map([...tree.byId.values()].map((x) => [x.id, x.parentId ?? undefined]));
      const cycle = categoryCycles([{ key: existing.id, parent: targetParent ?? undefined }], known).get(
        existing.id,
      );
      if (cycle) {
        const label = (id: string) => tree.byId.get(id)?.name ?? id;
        return failed(
          item.key,
          "data",
          `${cycleReason(cycle.map(label))} [category ${item.key}]`,
          system,
          "parent",
        );
      }
    }
    let now = existing;
    if (renames) {
      const slugs = new Map(existing.translations.map((t) => [t.languageCode, t.slug]));
      const data = await client.request(
        `mutation UpdateCollection($input: UpdateCollectionInput!) { updateCollection(input: $input) { ${FIELDS} } }`,
        {
          input: {
            id: existing.id,
            translations: Object.entries(names).map(([languageCode, name]) => ({
              languageCode,
              name,
              // The slug a shop has published stays; a new language gets one from its name.
              slug: slugs.get(languageCode) ?? slugFor(name),
              // A language the collection had no name in yet gets its (required) description.
              ...(slugs.has(languageCode) ? {} : { description: "" }),
            })),
          },
        },
        z.object({ updateCollection: Collection }),
      );
      now = data.updateCollection;
    }
    if ((moves || reorders) && targetParent !== null) {
      const index =
        c.position ??
        [...tree.byId.values()].filter((x) => x.parentId === targetParent && x.id !== existing.id).length;
      now = await move(now, targetParent, index);
    }
    remember(tree, now, value.id);
    return { key: item.key, ok: true, targetId: now.id, action: "updated" };
  }

  async function move(c: Collection, parentId: string | null, index: number): Promise<Collection> {
    if (parentId === null) return c;
    const data = await client.request(
      `mutation MoveCollection($input: MoveCollectionInput!) { moveCollection(input: $input) { ${FIELDS} } }`,
      { input: { collectionId: c.id, parentId, index } },
      z.object({ moveCollection: Collection }),
    );
    return data.moveCollection;
  }

  function remember(tree: Tree, c: Collection, valueId: string): void {
    tree.byId.set(c.id, c);
    tree.byValue.set(valueId, c);
    if (tree.rootId === null && c.parentId !== null && !tree.byId.has(c.parentId)) tree.rootId = c.parentId;
  }

  return {
    entity: "category",
    estimateCalls: perRecord({ create: 2, update: 2, perBatch: 3 }),
    async upsert(items) {
      const ch = await channel();
      const lang = ch.defaultLanguageCode;
      const tree = await readTree(lang);
      const order = parentsFirst(items.map((i) => ({ key: i.key, parent: i.record.parent, item: i })));
      const results: WriteResult[] = [];
      for (const { item } of order) {
        results.push(await perItem(item.key, system, () => writeOne(item, tree, ch)));
      }
      return results;
    },
    async findByExternalRef(ref) {
      const ch = await channel();
      const tree = await readTree(ch.defaultLanguageCode);
      return collectionOf(tree, ref)?.id ?? null;
    },
  };
}

const FIELDS =
  "id parentId position slug name translations { languageCode name slug } filters { code args { name value } }";

function sameNames(have: { languageCode: string; name: string }[], want: Record<string, string>): boolean {
  const a = Object.fromEntries(have.map((t) => [t.languageCode, t.name]));
  const keys = Object.keys(want);
  return keys.length === Object.keys(a).length && keys.every((k) => a[k] === want[k]);
}
