import { SyncError } from "../../../core/errors.ts";
import type { Customer } from "../../../core/model.ts";
import type { Stream } from "../../../ports/connector.ts";
import type { OdooRow } from "../client.ts";
import { type OdooContext, pricelistGroup } from "../context.ts";
import { ids, many2one, str } from "../fields.ts";
import { keysetPages } from "../paging.ts";
import { ADDRESS_FIELDS, addressOf, countryCodes, isCompany, splitName } from "../partners.ts";
import { odooToIso } from "../time.ts";

export interface CustomerNative {
  partner: OdooRow;
  children: OdooRow[];
  countries: Map<number, string>;
}

const FIELDS = [...ADDRESS_FIELDS, "email", "is_company", "property_product_pricelist", "child_ids"];
// Customers are the top-level partners with an e-mail; their child partners are addresses and contacts.
const BASE = [
  ["email", "!=", false],
  ["parent_id", "=", false],
];

/**
 * Customers with their invoice/delivery addresses (child partners). Editing only a child address does not
 * move the parent's write_date, so such a change waits for the next change to the customer or a resync.
 */
export function customerStream(ctx: OdooContext): Stream<"customer", CustomerNative> {
  const { client } = ctx;
  const enrich = async (partners: OdooRow[], signal?: AbortSignal): Promise<CustomerNative[]> => {
    const [children, countries] = await Promise.all([
      client.searchRead(
        "res.partner",
        [
          ["parent_id", "in", partners.map((p) => p.id)],
          ["type", "in", ["invoice", "delivery", "other"]],
        ],
        ADDRESS_FIELDS,
        { order: "id asc", signal },
      ),
      countryCodes(ctx, signal),
    ]);
    return partners.map((partner) => ({
      partner,
      children: children.filter((c) => many2one(c, "parent_id")?.id === partner.id),
      countries,
    }));
  };
  return {
    entity: "customer",
    sorted: true,
    async *list(req) {
      for await (const page of keysetPages(client, "res.partner", BASE, FIELDS, req)) {
        yield await enrich(page, req.signal);
      }
    },
    async get(id) {
      const rows = await client.searchRead(
        "res.partner",
        [["id", "=", Number(id)], ...BASE],
        [...FIELDS, "write_date"],
      );
      return rows.length === 0 ? null : ((await enrich(rows))[0] ?? null);
    },
    idOf: (n) => String(n.partner.id),
    updatedAtOf: (n) => odooToIso(String(n.partner.write_date)),
    toCanonical({ partner, children, countries }): Customer {
      const email = str(partner, "email");
      if (!email) throw new SyncError("data", `res.partner(${partner.id}) has no e-mail`, { field: "email" });
      const company = isCompany(partner);
      const name = str(partner, "name") ?? email;
      const companyName = company ? name : undefined;
      const own = addressOf(partner, countries, { company: companyName, type: "both" });
      const childIds = new Set(ids(partner, "child_ids"));
      const pricelist = many2one(partner, "property_product_pricelist");
      return {
        source: ctx.name,
        sourceId: String(partner.id),
        updatedAt: odooToIso(String(partner.write_date)),
        key: email.trim().toLowerCase(),
        email: email.trim(),
        ...splitName(name, company),
        phone: str(partner, "phone"),
        company: companyName,
        group: pricelist?.name ? pricelistGroup(pricelist.name).group : undefined,
        addresses: [
          ...(own ? [own] : []),
          ...children
            .filter((c) => childIds.size === 0 || childIds.has(c.id))
            .flatMap((c) => addressOf(c, countries, { company: companyName }) ?? []),
        ],
      };
    },
  };
}
