import { SyncError } from "../../../core/errors.ts";
import type { Removal } from "../../../core/merge.ts";
import type { Address, Customer } from "../../../core/model.ts";
import type { Stream } from "../../../ports/connector.ts";
import type { TrytonRow } from "../client.ts";
import { latest } from "../codec.ts";
import { nested, priceListGroup, type TrytonContext } from "../context.ts";
import { bool, id, str } from "../fields.ts";
import { changedRecords, recordOfKey } from "../paging.ts";

export interface CustomerNative {
  party: TrytonRow;
  addresses: TrytonRow[];
  mechanisms: TrytonRow[];
  priceList: string | undefined;
  changedAt: string;
}

/** Parties with an e-mail address are customers; the company's own party has none. */
const PARTY_DOMAIN = [["contact_mechanisms.type", "=", "email"]];
const PARTY_FIELDS = ["name", "code", "active", "sale_price_list", "write_date", "create_date"];
const ADDRESS_FIELDS = [
  "party",
  "name",
  "party_name",
  "street",
  "postal_code",
  "city",
  "country.code",
  "subdivision.code",
  "invoice",
  "delivery",
  "active",
  "write_date",
  "create_date",
];
const MECHANISM_FIELDS = ["party", "type", "value", "write_date", "create_date"];

export function addressOf(row: TrytonRow): Address | null {
  const street = (str(row, "street") ?? "").split(/\r?\n/).filter((l) => l.trim() !== "");
  const city = str(row, "city");
  const country = nested(row, "country", "code");
  if (street.length === 0 || !city || typeof country !== "string") return null;
  const invoice = row.invoice === true;
  const delivery = row.delivery === true;
  const region = nested(row, "subdivision", "code");
  return {
    type: invoice && !delivery ? "billing" : delivery && !invoice ? "shipping" : "both",
    name: str(row, "party_name"),
    line1: street[0] as string,
    line2: street.length > 1 ? street.slice(1).join(", ") : undefined,
    city,
    postalCode: str(row, "postal_code"),
    region: typeof region === "string" ? region.replace(/^[A-Z]{2}-/, "") : undefined,
    country,
  };
}

/**
 * party.party with an e-mail contact mechanism, its addresses and contact mechanisms. The party's sale
 * price list is its customer group. A change to an address or a contact mechanism does not move the
 * party's write_date, so both count as changes of the party.
 */
export function customerStream(ctx: TrytonContext): Stream<"customer", CustomerNative> {
  const { client } = ctx;
  const load = async (partyIds: number[], signal?: AbortSignal): Promise<Map<number, CustomerNative>> => {
    const [parties, addresses, mechanisms, lists] = await Promise.all([
      client.searchRead("party.party", [["id", "in", partyIds], ...PARTY_DOMAIN], PARTY_FIELDS, { signal }),
      client.searchRead("party.address", [["party", "in", partyIds]], ADDRESS_FIELDS, { signal }),
      client.searchRead("party.contact_mechanism", [["party", "in", partyIds]], MECHANISM_FIELDS, { signal }),
      client.searchRead("product.price_list", [], ["name"], { signal }),
    ]);
    const listName = new Map(lists.map((l) => [l.id, str(l, "name")]));
    const out = new Map<number, CustomerNative>();
    for (const party of parties) {
      const own = addresses.filter((a) => id(a, "party") === party.id);
      const mine = mechanisms.filter((m) => id(m, "party") === party.id);
      const list = id(party, "sale_price_list");
      out.set(party.id, {
        party,
        addresses: own,
        mechanisms: mine,
        priceList: list === undefined ? undefined : listName.get(list),
        changedAt:
          latest(...[party, ...own, ...mine].flatMap((r) => [r.write_date, r.create_date])) ??
          "1970-01-01T00:00:00.000Z",
      });
    }
    return out;
  };
  const toParty = (r: TrytonRow) => (id(r, "party") ? [id(r, "party") as number] : []);
  return {
    entity: "customer",
    sorted: true,
    list: (req) =>
      changedRecords(
        client,
        [
          { model: "party.party", domain: PARTY_DOMAIN, fields: [], parentsOf: (r) => [r.id] },
          { model: "party.address", domain: [], fields: ["party"], parentsOf: toParty },
          { model: "party.contact_mechanism", domain: [], fields: ["party"], parentsOf: toParty },
        ],
        req,
        load,
      ),
    get: (key) => recordOfKey(key, load),
    removed: (ids, signal) => removedParties(ctx, ids, signal),
    idOf: (n) => String(n.party.id),
    updatedAtOf: (n) => n.changedAt,
    toCanonical(n): Customer {
      const p = n.party;
      const email = n.mechanisms.find((m) => m.type === "email" && str(m, "value"));
      if (!email) {
        throw new SyncError(
          "data",
          `party.party ${p.id} (${str(p, "name") ?? "no name"}) has no e-mail address`,
          {
            system: ctx.name,
            field: "email",
          },
        );
      }
      const phone = n.mechanisms.find((m) => (m.type === "phone" || m.type === "mobile") && str(m, "value"));
      const name = (str(p, "name") ?? "").trim();
      const cut = name.lastIndexOf(" ");
      const address = n.addresses.filter((a) => bool(a, "active", true)).flatMap((a) => addressOf(a) ?? []);
      return {
        source: ctx.name,
        sourceId: String(p.id),
        updatedAt: n.changedAt,
        key: String(str(email, "value")).trim().toLowerCase(),
        email: String(str(email, "value")).trim(),
        firstName: cut > 0 ? name.slice(0, cut) : undefined,
        lastName: (cut > 0 ? name.slice(cut + 1) : name) || String(str(email, "value")),
        phone: phone ? str(phone, "value") : undefined,
        group: n.priceList ? priceListGroup(n.priceList).group : undefined,
        addresses: address,
      };
    },
  };
}

/** Of these party ids, those gone from Tryton (deleted) or deactivated (`active` false: archived); one call. */
export async function removedParties(
  ctx: TrytonContext,
  ids: string[],
  signal?: AbortSignal,
): Promise<Map<string, Removal>> {
  const wanted = ids.map(Number).filter((n) => Number.isInteger(n) && n > 0);
  const rows =
    wanted.length === 0
      ? []
      : await ctx.client.searchRead("party.party", [["id", "in", wanted]], ["active"], {
          context: { active_test: false },
          signal,
        });
  const active = new Map(rows.map((r) => [String(r.id), bool(r, "active", true)]));
  const out = new Map<string, Removal>();
  for (const id of ids) {
    const a = active.get(id);
    if (a === undefined) out.set(id, "deleted");
    else if (!a) out.set(id, "archived");
  }
  return out;
}
