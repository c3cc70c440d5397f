/**
 * The facet that links products to categories in Vendure. Each category is a collection (the tree: parent,
 * position, translated names) whose one filter is "has the facet value of this category"; a product is in
 * a category when it carries that value. So a rename or a move touches the collection alone, and a
 * product's categories are written on the product, as its other facet values are.
 */
import { z } from "zod";
import type { VendureClient } from "../client.ts";
import { slugFor } from "../lookup.ts";

/** The facet's code: one facet holds a value per category. */
export const CATEGORY_FACET = "category";

/** The facet value code of a category: its key, as a Vendure code. */
export function categoryValueCode(key: string): string {
  return `category-${slugFor(key)}`;
}

const FACETS = `query CategoryFacet($options: FacetListOptions) {
  facets(options: $options) { items { id code values { id code name translations { languageCode name } } } }
}`;
const FacetAnswer = z.object({
  facets: z.object({
    items: z.array(
      z.object({
        id: z.string(),
        code: z.string(),
        values: z.array(
          z.object({
            id: z.string(),
            code: z.string(),
            name: z.string(),
            translations: z.array(z.object({ languageCode: z.string(), name: z.string() })),
          }),
        ),
      }),
    ),
  }),
});
export type CategoryValue = z.infer<typeof FacetAnswer>["facets"]["items"][number]["values"][number];

export interface CategoryFacet {
  id: string;
  /** Facet value code → value. */
  values: Map<string, CategoryValue>;
}

/** The category facet as Vendure holds it now, or null when it was never created. */
export async function readCategoryFacet(client: VendureClient): Promise<CategoryFacet | null> {
  const data = await client.request(
    FACETS,
    { options: { filter: { code: { eq: CATEGORY_FACET } }, take: 1 } },
    FacetAnswer,
  );
  const facet = data.facets.items[0];
  return facet ? { id: facet.id, values: new Map(facet.values.map((v) => [v.code, v])) } : null;
}

/** The category facet, created (not public in filters' names only: a shop may show it) when missing. */
export async function ensureCategoryFacet(
  client: VendureClient,
  languageCode: string,
): Promise<CategoryFacet> {
  const found = await readCategoryFacet(client);
  if (found) return found;
  const data = await client.request(
    `mutation CreateFacet($input: CreateFacetInput!) { createFacet(input: $input) { id } }`,
    {
      input: {
        code: CATEGORY_FACET,
        isPrivate: false,
        translations: [{ languageCode, name: "Category" }],
      },
    },
    z.object({ createFacet: z.object({ id: z.string() }) }),
  );
  return { id: data.createFacet.id, values: new Map() };
}
