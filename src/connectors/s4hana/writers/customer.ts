/**
 * Customers → business partners (A_BusinessPartner of API_BUSINESS_PARTNER): a person (category 1) with the
 * configured customer role (to_BusinessPartnerRole; S/4HANA makes the partner a customer of the same number)
 * and the shop's addresses (to_BusinessPartnerAddress, the first one carrying the e-mail address in
 * to_EmailAddress), created in one deep insert.
 *
 * A customer is found by its e-mail before anything is created (A_AddressEmailAddress by EmailAddress, then
 * the address's partner), so a crash between "created" and "recorded" finds the partner again. An existing
 * partner is patched only where it differs — the name on A_BusinessPartner, the first address on
 * A_BusinessPartnerAddress —; writing the same customer again sends nothing.
 */
import pLimit from "p-limit";
import type { Address, Customer } from "../../../core/model.ts";
import type { WriteResult, Writer } from "../../../ports/connector.ts";
import { failed, perItemLimited } from "../../write-results.ts";
import type { S4Row } from "../client.ts";
import type { S4HanaContext } from "../context.ts";
import { literal } from "../odata.ts";

const BP = "API_BUSINESS_PARTNER" as const;
const PARTNER_SELECT = [
  "BusinessPartner",
  "Customer",
  "FirstName",
  "LastName",
  "to_BusinessPartnerAddress/AddressID",
  "to_BusinessPartnerAddress/StreetName",
  "to_BusinessPartnerAddress/HouseNumberSupplementText",
  "to_BusinessPartnerAddress/CityName",
  "to_BusinessPartnerAddress/PostalCode",
  "to_BusinessPartnerAddress/Region",
  "to_BusinessPartnerAddress/Country",
] as const;

/** The fields of an address row, and their MaxLength in the EDMX. */
const LIMITS = {
  StreetName: 60,
  HouseNumberSupplementText: 10,
  CityName: 40,
  PostalCode: 10,
  Region: 3,
  FirstName: 40,
  LastName: 40,
};

export function addressFields(a: Address): S4Row {
  return {
    StreetName: a.line1,
    HouseNumberSupplementText: a.line2 ?? "",
    CityName: a.city,
    PostalCode: a.postalCode ?? "",
    Region: a.region ?? "",
    Country: a.country,
  };
}

const results = (v: unknown): S4Row[] =>
  Array.isArray((v as { results?: unknown } | null)?.results) ? (v as { results: S4Row[] }).results : [];

/** A partner as Passerelle reads its own writes back (names and the first address). */
export function partnerView(row: S4Row) {
  const first = results(row.to_BusinessPartnerAddress)[0];
  return {
    FirstName: String(row.FirstName ?? ""),
    LastName: String(row.LastName ?? ""),
    address: first
      ? Object.fromEntries(
          Object.keys(addressFields({ line1: "", city: "", country: "" } as Address)).map((k) => [
            k,
            String(first[k] ?? ""),
          ]),
        )
      : null,
  };
}

function tooLong(fields: S4Row): string | null {
  for (const [k, max] of Object.entries(LIMITS)) {
    const v = fields[k];
    if (typeof v === "string" && v.length > max)
      return `${k} ${JSON.stringify(v)} is longer than ${max} characters`;
  }
  return null;
}

export function customerWriter(ctx: S4HanaContext): Writer<"customer"> {
  const { client, config } = ctx;
  const limit = pLimit(config.concurrency);

  const findByEmail = (email: string, signal?: AbortSignal) => partnerByEmail(ctx, email, signal);

  const read = (id: string, signal?: AbortSignal) =>
    client.get(BP, "A_BusinessPartner", id, {
      select: PARTNER_SELECT,
      expand: ["to_BusinessPartnerAddress"],
      ...(signal ? { signal } : {}),
    });

  const writeOne = async (
    key: string,
    c: Customer,
    targetId: string | null,
    signal?: AbortSignal,
  ): Promise<WriteResult> => {
    const [first, ...others] = c.addresses;
    if (!first) {
      return failed(
        key,
        "data",
        `customer ${c.email}: S/4HANA needs an address for a business partner, the customer has none`,
        ctx.name,
        "addresses",
      );
    }
    const names = { FirstName: c.firstName ?? "", LastName: c.lastName };
    const address = addressFields(first);
    const bad =
      tooLong({ ...names, ...address }) ??
      others.map((a) => tooLong(addressFields(a))).find((x) => x) ??
      null;
    if (bad) return failed(key, "data", `customer ${c.email}: ${bad}`, ctx.name, "addresses");
    const existingId =
      (targetId && (await read(targetId, signal)) ? targetId : null) ?? (await findByEmail(c.email, signal));
    if (!existingId) {
      const created = await client.create(
        BP,
        "A_BusinessPartner",
        {
          BusinessPartnerCategory: "1",
          ...names,
          to_BusinessPartnerRole: [{ BusinessPartnerRole: config.customerRole }],
          to_BusinessPartnerAddress: [
            {
              ...address,
              to_EmailAddress: [{ EmailAddress: c.email.toLowerCase(), IsDefaultEmailAddress: true }],
            },
            ...others.map(addressFields),
          ],
        },
        signal,
      );
      return { key, ok: true, targetId: String(created.BusinessPartner), action: "created" };
    }
    const row = await read(existingId, signal);
    if (!row)
      return failed(key, "retryable", `business partner ${existingId} vanished while written`, ctx.name);
    const now = partnerView(row);
    let changed = false;
    const namePatch: S4Row = {};
    for (const [k, v] of Object.entries(names)) if (now[k as keyof typeof names] !== v) namePatch[k] = v;
    if (Object.keys(namePatch).length > 0) {
      await client.update(BP, "A_BusinessPartner", existingId, namePatch, signal);
      changed = true;
    }
    const firstRow = results(row.to_BusinessPartnerAddress)[0];
    if (firstRow && JSON.stringify(now.address) !== JSON.stringify(address)) {
      await client.update(
        BP,
        "A_BusinessPartnerAddress",
        { BusinessPartner: existingId, AddressID: String(firstRow.AddressID) },
        address,
        signal,
      );
      changed = true;
    }
    return { key, ok: true, targetId: existingId, action: changed ? "updated" : "unchanged" };
  };

  return {
    entity: "customer",
    upsert: (items, wctx) =>
      perItemLimited(items, ctx.name, limit, (i) => writeOne(i.key, i.record, i.targetId, wctx.signal)),
    findByExternalRef: (_ref, record) => findByEmail(record.email),
    // Per record: the look-up by e-mail (two reads), then a create, or a read and up to two patches.
    estimateCalls: (page) => page.create.length * 3 + page.update.length * 4 + page.lookups.length * 2,
  };
}

/** The business partner whose address carries the e-mail (A_AddressEmailAddress, then its address), or null. */
export async function partnerByEmail(
  ctx: S4HanaContext,
  email: string,
  signal?: AbortSignal,
): Promise<string | null> {
  const { client } = ctx;
  for await (const page of client.list(BP, "A_AddressEmailAddress", {
    filter: `EmailAddress eq ${literal(email.toLowerCase())}`,
    select: ["AddressID", "Person", "OrdinalNumber"],
    pageSize: 5,
    ...(signal ? { signal } : {}),
  })) {
    for (const e of page) {
      for await (const addresses of client.list(BP, "A_BusinessPartnerAddress", {
        filter: `AddressID eq ${literal(String(e.AddressID))}`,
        select: ["BusinessPartner", "AddressID"],
        pageSize: 1,
        ...(signal ? { signal } : {}),
      })) {
        if (addresses[0]) return String(addresses[0].BusinessPartner);
      }
    }
    return null;
  }
  return null;
}
