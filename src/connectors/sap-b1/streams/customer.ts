/**
 * Customers: business partners of type cCustomer (BusinessPartners, CardType eq 'cCustomer') with an
 * e-mail address (the canonical key), their addresses (BPAddresses: one row per name and type, bill-to or
 * ship-to) and their group (GroupCode, named through `customerGroups`).
 */
import type { Address, Customer } from "../../../core/model.ts";
import type { Stream } from "../../../ports/connector.ts";
import type { SapB1Context } from "../context.ts";
import { type B1Row, listChanged } from "../paging.ts";
import { b1UpdatedAt } from "../time.ts";

export const PARTNER_FIELDS = [
  "CardCode",
  "CardName",
  "CardType",
  "EmailAddress",
  "Phone1",
  "GroupCode",
  "BPAddresses",
  "UpdateDate",
  "UpdateTime",
] as const;

export const CUSTOMERS = "CardType eq 'cCustomer' and EmailAddress ne null and EmailAddress ne ''";

interface BPAddress {
  AddressName?: string;
  AddressType?: string;
  Street?: string | null;
  Block?: string | null;
  City?: string | null;
  ZipCode?: string | null;
  State?: string | null;
  Country?: string | null;
}

const text = (v: unknown) => (typeof v === "string" && v.trim() !== "" ? v.trim() : undefined);

/** Rows of the same name and content as bill-to and ship-to read as one address of type "both". */
export function addressesOf(rows: unknown): Address[] {
  const list = Array.isArray(rows) ? (rows as BPAddress[]) : [];
  const out: (Address & { _name: string })[] = [];
  for (const r of list) {
    const line1 = text(r.Street);
    const city = text(r.City);
    const country = text(r.Country);
    if (!line1 || !city || !country) continue;
    const a: Address = {
      type: r.AddressType === "bo_ShipTo" ? "shipping" : "billing",
      line1,
      city,
      country,
      ...(text(r.Block) ? { line2: text(r.Block) } : {}),
      ...(text(r.ZipCode) ? { postalCode: text(r.ZipCode) } : {}),
      ...(text(r.State) ? { region: text(r.State) } : {}),
    };
    const twin = out.find(
      (o) =>
        o._name === r.AddressName &&
        o.type !== a.type &&
        o.type !== "both" &&
        JSON.stringify({ ...o, _name: undefined, type: undefined }) ===
          JSON.stringify({ ...a, _name: undefined, type: undefined }),
    );
    if (twin) twin.type = "both";
    else out.push({ ...a, _name: String(r.AddressName ?? "") });
  }
  return out.map(({ _name, ...a }) => a);
}

export function customerOf(ctx: SapB1Context, row: B1Row): Customer {
  const name = text(row.CardName) ?? String(row.CardCode);
  const space = name.lastIndexOf(" ");
  const groups = Object.entries(ctx.config.customerGroups);
  const group = groups.find(([, code]) => code === row.GroupCode)?.[0];
  const email = String(row.EmailAddress ?? "")
    .trim()
    .toLowerCase();
  return {
    source: ctx.name,
    sourceId: String(row.CardCode),
    updatedAt: b1UpdatedAt(row),
    key: email,
    email,
    ...(space > 0
      ? { firstName: name.slice(0, space), lastName: name.slice(space + 1) }
      : { lastName: name }),
    ...(text(row.Phone1) ? { phone: text(row.Phone1) } : {}),
    ...(group
      ? { group }
      : row.GroupCode !== undefined && row.GroupCode !== null
        ? { group: String(row.GroupCode) }
        : {}),
    addresses: addressesOf(row.BPAddresses),
  };
}

export function customerStream(ctx: SapB1Context): Stream<"customer", B1Row> {
  return {
    entity: "customer",
    sorted: true,
    list: (req) =>
      listChanged(
        ctx,
        { set: "BusinessPartners", key: "CardCode", select: PARTNER_FIELDS, where: CUSTOMERS },
        req,
      ),
    async get(id) {
      const row = await ctx.client.get("BusinessPartners", id, PARTNER_FIELDS);
      return row && row.CardType === "cCustomer" ? row : null;
    },
    idOf: (row) => String(row.CardCode),
    updatedAtOf: b1UpdatedAt,
    toCanonical: (row) => customerOf(ctx, row),
  };
}
