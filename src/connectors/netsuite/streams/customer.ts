/** Customers (SuiteQL customer table) with an e-mail, the canonical key. Addresses (addressBook) are not read. */
import type { Customer } from "../../../core/model.ts";
import type { Stream } from "../../../ports/connector.ts";
import { type NsRow, sql } from "../client.ts";
import type { NetSuiteContext } from "../context.ts";
import { changedSince, idOf, text, updatedAtOf } from "./query.ts";

export const CUSTOMER_COLS = [
  "id",
  "entityid",
  "email",
  "firstname",
  "lastname",
  "companyname",
  "phone",
  "lastmodifieddate",
] as const;

export function customerOf(ctx: NetSuiteContext, row: NsRow): Customer {
  const email = String(row.email ?? "")
    .trim()
    .toLowerCase();
  const first = text(row.firstname);
  const last = text(row.lastname) ?? text(row.companyname) ?? String(row.entityid ?? email);
  return {
    source: ctx.name,
    sourceId: idOf(row),
    updatedAt: updatedAtOf(row),
    key: email,
    email,
    ...(first ? { firstName: first } : {}),
    lastName: last,
    ...(text(row.phone) ? { phone: text(row.phone) } : {}),
    addresses: [],
  };
}

export function customerStream(ctx: NetSuiteContext): Stream<"customer", NsRow> {
  return {
    entity: "customer",
    sorted: true,
    list: (req) => changedSince(ctx, "customer", CUSTOMER_COLS, req),
    get: (id) =>
      /^\d+$/.test(id)
        ? ctx.client.first(`SELECT ${CUSTOMER_COLS.join(", ")} FROM customer WHERE id = ${sql(id)}`)
        : Promise.resolve(null),
    idOf,
    updatedAtOf,
    toCanonical: (row) => customerOf(ctx, row),
  };
}
