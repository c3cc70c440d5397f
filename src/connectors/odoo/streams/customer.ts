import { SyncError } from "../../../core/errors.ts";
import type { Removal } from "../../../core/merge.ts";
import type { Customer } from "../../../core/model.ts";
import type { Stream } from "../../../ports/connector.ts";
import type { OdooRow } from "../client.ts";
import { type OdooContext, pricelistGroup } from "../context.ts";
import { bool, many2one, str, uniq } from "../fields.ts";
import { ADDRESS_FIELDS, addressOf, BUYER, countryCodes, isCompany, splitName } from "../partners.ts";
import { latestWrite, type Rolled, type RollupSpec, rollupPages } from "../rollup.ts";
import { odooToIso } from "../time.ts";

export interface CustomerNative extends Rolled {
  partner: OdooRow;
  /** For a company's buyer (see BUYER): the company, whose name, pricelist and account the buyer uses. */
  company?: OdooRow;
  /** Every child partner, archived ones and contacts included (they count in changedAt). */
  children: OdooRow[];
  countries: Map<number, string>;
}

const FIELDS = [
  ...ADDRESS_FIELDS,
  "email",
  "is_company",
  "property_product_pricelist",
  "child_ids",
  "write_date",
];
const CHILD_FIELDS = [...ADDRESS_FIELDS, "active", "write_date"];
// Child partners of any type or state: turning an address into a contact, or archiving it, changes the
// customer's addresses too.
const CHILDREN = [
  ["parent_id", "!=", false],
  ["active", "in", [true, false]],
];
const ADDRESS_TYPES = new Set(["invoice", "delivery", "other"]);
// Customers are the top-level partners with an e-mail; their child partners are addresses and contacts.
const BASE = [
  ["email", "!=", false],
  ["parent_id", "=", false],
];
// ...and the buyers of companies: contacts with an e-mail of their own, ordering on the company's account.
const BUYERS = [["email", "!=", false], ["parent_id", "!=", false], ...BUYER];
const COMPANY_FIELDS = ["name", "email", "property_product_pricelist", "write_date"];

/**
 * Customers with their invoice/delivery addresses (child partners), and each company's buyers (its
 * contacts with an e-mail of their own: B2B accounts with several people ordering): a buyer is a customer of
 * its own, named as the person, with the company's name and the company's pricelist as its group; its
 * address is its own (Odoo keeps a contact's address in step with its company's). Editing only a child address does not
 * move the parent's write_date in Odoo, so the stream's updatedAt is the latest write of the customer and
 * its children, and a changed child brings back its parent (see rollup.ts).
 */
export function customerStream(ctx: OdooContext): Stream<"customer", CustomerNative> {
  const { client } = ctx;
  const load = async (partnerIds: number[], signal?: AbortSignal): Promise<CustomerNative[]> => {
    if (partnerIds.length === 0) return [];
    const [partners, children, countries] = await Promise.all([
      client.searchRead(
        "res.partner",
        [["id", "in", partnerIds], ["email", "!=", false], "|", ["parent_id", "=", false], ...BUYER],
        FIELDS,
        { signal },
      ),
      client.searchRead("res.partner", [["parent_id", "in", partnerIds], ...CHILDREN], CHILD_FIELDS, {
        order: "id asc",
        signal,
      }),
      countryCodes(ctx, signal),
    ]);
    const companyIds = uniq(partners.map((p) => many2one(p, "parent_id")?.id));
    const companies = new Map(
      (companyIds.length === 0
        ? []
        : await client.searchRead("res.partner", [["id", "in", companyIds]], COMPANY_FIELDS, { signal })
      ).map((c) => [c.id, c]),
    );
    return partners.flatMap((partner): CustomerNative[] => {
      const parent = many2one(partner, "parent_id")?.id;
      if (parent !== undefined) {
        const company = companies.get(parent);
        const same = (r: OdooRow) => str(r, "email")?.trim().toLowerCase();
        // A buyer with the company's own address is the company (already a customer): not a second one.
        if (!company || same(company) === same(partner)) return [];
        return [{ partner, company, children: [], countries, changedAt: latestWrite([partner, company]) }];
      }
      const own = children.filter((c) => many2one(c, "parent_id")?.id === partner.id);
      return [{ partner, children: own, countries, changedAt: latestWrite([partner, ...own]) }];
    });
  };
  const spec: RollupSpec<CustomerNative> = {
    sources: [
      {
        model: "res.partner",
        domain: BASE,
        fields: [],
        parentsOf: (rows) => rows.map((r) => r.id),
        parentField: "id",
      },
      {
        model: "res.partner",
        domain: CHILDREN,
        fields: ["parent_id"],
        parentsOf: (rows) => uniq(rows.map((r) => many2one(r, "parent_id")?.id)),
        parentField: "parent_id",
      },
      {
        model: "res.partner",
        domain: BUYERS,
        fields: [],
        parentsOf: (rows) => rows.map((r) => r.id),
        parentField: "id",
      },
      {
        // A company's change (its name, its pricelist) is each of its buyers' change.
        model: "res.partner",
        domain: [
          ["is_company", "=", true],
          ["child_ids", "!=", false],
        ],
        fields: ["child_ids"],
        parentsOf: (rows) => uniq(rows.flatMap((r) => (Array.isArray(r.child_ids) ? r.child_ids : []))),
      },
    ],
    load,
    parentIdOf: (n) => n.partner.id,
  };
  return {
    entity: "customer",
    sorted: true,
    list: (req) => rollupPages(client, spec, req),
    async get(id) {
      const n = Number(id);
      return Number.isInteger(n) && n > 0 ? ((await load([n]))[0] ?? null) : null;
    },
    idOf: (n) => String(n.partner.id),
    updatedAtOf: (n) => odooToIso(n.changedAt),
    removed: (ids, signal) => removedPartners(ctx, ids, signal),
    toCanonical({ partner, company: account, children, countries, changedAt }): Customer {
      const email = str(partner, "email");
      if (!email) throw new SyncError("data", `res.partner(${partner.id}) has no e-mail`, { field: "email" });
      const company = isCompany(partner);
      const name = str(partner, "name") ?? email;
      // A buyer is a person at the company: the company's name, and the company's pricelist as group.
      const companyName = account ? (str(account, "name") ?? undefined) : company ? name : undefined;
      const own = addressOf(partner, countries, { company: companyName, type: "both" });
      const pricelist = many2one(account ?? partner, "property_product_pricelist");
      return {
        source: ctx.name,
        sourceId: String(partner.id),
        updatedAt: odooToIso(changedAt),
        key: email.trim().toLowerCase(),
        email: email.trim(),
        ...splitName(name, company && !account),
        phone: str(partner, "phone"),
        company: companyName,
        group: pricelist?.name ? pricelistGroup(pricelist.name).group : undefined,
        addresses: [
          ...(own ? [own] : []),
          ...children
            .filter((c) => bool(c, "active") && ADDRESS_TYPES.has(str(c, "type") ?? ""))
            .flatMap((c) => addressOf(c, countries, { company: companyName }) ?? []),
        ],
      };
    },
  };
}

/** Of these partner ids, those gone from Odoo (deleted) or archived (`active` false); one call. */
export async function removedPartners(
  ctx: OdooContext,
  ids: string[],
  signal?: AbortSignal,
): Promise<Map<string, Removal>> {
  const wanted = ids.map(Number).filter((n) => Number.isInteger(n) && n > 0);
  const rows =
    wanted.length === 0
      ? []
      : await ctx.client.searchRead(
          "res.partner",
          [
            ["id", "in", wanted],
            ["active", "in", [true, false]],
          ],
          ["active"],
          { signal },
        );
  const active = new Map(rows.map((r) => [String(r.id), bool(r, "active")]));
  const out = new Map<string, Removal>();
  for (const id of ids) {
    const a = active.get(id);
    if (a === undefined) out.set(id, "deleted");
    else if (!a) out.set(id, "archived");
  }
  return out;
}
