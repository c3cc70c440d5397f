/**
 * A product's option groups and options, created when missing. A group's code is derived from the
 * product's slug and the group's name, and a group that already carries that code is taken rather than
 * created again: a process killed between "group created" and "group added to the product" leaves the
 * group unattached (Vendure 3.7 groups are shared, not owned by a product), and the next run attaches it.
 * A group of that code that another product uses is left to it (two keys whose slugs collide).
 */
import { z } from "zod";
import type { VendureClient } from "../client.ts";
import { slugFor } from "../lookup.ts";

export interface OptionGroupRef {
  id: string;
  code: string;
  name: string;
  options: { id: string; code: string; name: string }[];
}
const OptionGroupShape = z.object({
  id: z.string(),
  code: z.string(),
  name: z.string(),
  options: z.array(z.object({ id: z.string(), code: z.string(), name: z.string() })),
});

const GROUP_BY_CODE = `query OptionGroupByCode($code: String!) {
  productOptionGroups(options: { filter: { code: { eq: $code } }, take: 10 }) {
    items { id code name productCount options { id code name } }
  }
}`;
const CREATE_GROUP = `mutation CreateProductOptionGroup($input: CreateProductOptionGroupInput!) {
  createProductOptionGroup(input: $input) { id code name options { id code name } }
}`;
const ADD_GROUP = `mutation AddOptionGroupToProduct($productId: ID!, $groupId: ID!) {
  addOptionGroupToProduct(productId: $productId, optionGroupId: $groupId) { id }
}`;
const CREATE_OPTION = `mutation CreateProductOption($input: CreateProductOptionInput!) {
  createProductOption(input: $input) { id code name }
}`;

/** Option ids per group name → option name, creating (or attaching) what the product lacks. */
export async function ensureOptions(
  client: VendureClient,
  productId: string,
  productSlug: string,
  attached: readonly OptionGroupRef[],
  groups: readonly { name: string; values: string[] }[],
  lang: string,
): Promise<Map<string, Map<string, string>>> {
  const out = new Map<string, Map<string, string>>();
  for (const g of groups) {
    const code = `${productSlug}-${slugFor(g.name)}`;
    let have = attached.find((x) => x.name === g.name);
    if (!have) {
      const orphan = (
        await client.request(
          GROUP_BY_CODE,
          { code },
          z.object({
            productOptionGroups: z.object({
              items: z.array(OptionGroupShape.extend({ productCount: z.number().int() })),
            }),
          }),
        )
      ).productOptionGroups.items.find((x) => x.code === code && x.productCount === 0);
      have =
        orphan ??
        (
          await client.request(
            CREATE_GROUP,
            {
              input: {
                code,
                translations: [{ languageCode: lang, name: g.name }],
                options: g.values.map((v) => ({
                  code: slugFor(v),
                  translations: [{ languageCode: lang, name: v }],
                })),
              },
            },
            z.object({ createProductOptionGroup: OptionGroupShape }),
          )
        ).createProductOptionGroup;
      await client.request(ADD_GROUP, { productId, groupId: have.id }, z.unknown());
    }
    const ids = new Map(have.options.map((o) => [o.name, o.id]));
    for (const v of g.values) {
      if (ids.has(v)) continue;
      const data = await client.request(
        CREATE_OPTION,
        {
          input: {
            productOptionGroupId: have.id,
            code: slugFor(v),
            translations: [{ languageCode: lang, name: v }],
          },
        },
        z.object({ createProductOption: z.object({ id: z.string() }) }),
      );
      ids.set(v, data.createProductOption.id);
    }
    out.set(g.name, ids);
  }
  return out;
}
