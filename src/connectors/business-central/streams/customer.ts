/**
 * Customers with an e-mail address (the canonical key). API v2.0's customers page holds one address, the
 * customer's own (addressLine1/2, city, state, postalCode, country), read as an address of type "both";
 * ship-to addresses (table Ship-to Address) have no API v2.0 page, and neither has the customer's price
 * group (Customer Price Group is not a field of the page), so customers carry no group.
 */
import type { Address, Customer } from "../../../core/model.ts";
import type { Stream } from "../../../ports/connector.ts";
import { type BcRow, literal } from "../client.ts";
import type { BusinessCentralContext } from "../context.ts";
import { GUID, listChanged, text, updatedAt } from "../paging.ts";

export const CUSTOMER_FIELDS = [
  "id",
  "number",
  "displayName",
  "type",
  "addressLine1",
  "addressLine2",
  "city",
  "state",
  "country",
  "postalCode",
  "phoneNumber",
  "email",
  "blocked",
  "lastModifiedDateTime",
] as const;

export const WITH_EMAIL = "email ne ''";

export function addressOf(row: BcRow): Address[] {
  const line1 = text(row.addressLine1);
  const city = text(row.city);
  const country = text(row.country);
  if (!line1 || !city || !country) return [];
  return [
    {
      type: "both",
      line1,
      city,
      country,
      ...(text(row.addressLine2) ? { line2: text(row.addressLine2) } : {}),
      ...(text(row.postalCode) ? { postalCode: text(row.postalCode) } : {}),
      ...(text(row.state) ? { region: text(row.state) } : {}),
    },
  ];
}

export function customerOf(name: string, row: BcRow): Customer {
  const display = text(row.displayName) ?? String(row.number);
  const space = display.lastIndexOf(" ");
  const email = String(row.email ?? "")
    .trim()
    .toLowerCase();
  return {
    source: name,
    sourceId: String(row.id),
    updatedAt: updatedAt(row),
    key: email,
    email,
    ...(row.type === "Person" && space > 0
      ? { firstName: display.slice(0, space), lastName: display.slice(space + 1) }
      : { lastName: display }),
    ...(text(row.phoneNumber) ? { phone: text(row.phoneNumber) } : {}),
    addresses: addressOf(row),
  };
}

export async function findCustomerByEmail(
  ctx: BusinessCentralContext,
  email: string,
  signal?: AbortSignal,
): Promise<BcRow | null> {
  for await (const page of ctx.client.list("customers", {
    filter: `email eq ${literal(email.toLowerCase())}`,
    select: CUSTOMER_FIELDS,
    top: 1,
    pageSize: 1,
    ...(signal ? { signal } : {}),
  })) {
    return page[0] ?? null;
  }
  return null;
}

export function customerStream(ctx: BusinessCentralContext): Stream<"customer", BcRow> {
  return {
    entity: "customer",
    sorted: true,
    list: (req) => listChanged(ctx, { set: "customers", select: CUSTOMER_FIELDS, where: WITH_EMAIL }, req),
    async get(id) {
      if (!GUID.test(id)) return null;
      const row = await ctx.client.get(`customers(${id})`, { select: CUSTOMER_FIELDS });
      return row && text(row.email) ? row : null;
    },
    idOf: (row) => String(row.id),
    updatedAtOf: updatedAt,
    toCanonical: (row) => customerOf(ctx.name, row),
  };
}
