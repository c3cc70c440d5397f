/**
 * Vendure customers → canonical Customer, keyed by the lower-cased e-mail. The customer group is the
 * first Vendure customer group the customer belongs to, by name (Vendure has no single "group" field; a
 * customer in several groups is mapped to the first and the rest are not carried).
 */
import { z } from "zod";
import type { Customer } from "../../../core/model.ts";
import type { Stream } from "../../../ports/connector.ts";
import type { VendureClient } from "../client.ts";
import { CUSTOMER_FIELDS, listOf, VendureCustomer } from "../native.ts";
import { keysetStream } from "./paging.ts";

const CUSTOMERS = `query Customers($options: CustomerListOptions) {
  customers(options: $options) { items { ${CUSTOMER_FIELDS} } totalItems }
}`;
const CUSTOMER = `query Customer($id: ID!) { customer(id: $id) { ${CUSTOMER_FIELDS} } }`;

export function customerToCanonical(system: string, c: VendureCustomer): Customer {
  const email = c.emailAddress.toLowerCase();
  const addresses = (c.addresses ?? []).flatMap((a) =>
    a.city
      ? [
          {
            type:
              a.defaultBillingAddress && !a.defaultShippingAddress
                ? ("billing" as const)
                : a.defaultShippingAddress && !a.defaultBillingAddress
                  ? ("shipping" as const)
                  : ("both" as const),
            name: a.fullName || undefined,
            company: a.company || undefined,
            line1: a.streetLine1,
            line2: a.streetLine2 || undefined,
            city: a.city,
            postalCode: a.postalCode || undefined,
            region: a.province || undefined,
            country: a.country.code.toUpperCase(),
            phone: a.phoneNumber || undefined,
          },
        ]
      : [],
  );
  const groups = [...c.groups].sort((a, b) => a.name.localeCompare(b.name));
  return {
    source: system,
    sourceId: c.id,
    updatedAt: c.updatedAt,
    key: email,
    email,
    firstName: c.firstName || undefined,
    lastName: c.lastName || c.firstName || email.split("@")[0] || email,
    phone: c.phoneNumber || undefined,
    company: (c.addresses ?? []).find((a) => a.company)?.company ?? undefined,
    group: groups[0]?.name,
    addresses,
  };
}

export function customerStream(
  system: string,
  client: VendureClient,
  maxPage: number,
): Stream<"customer", VendureCustomer> {
  const query = {
    document: CUSTOMERS,
    field: "customers",
    answer: listOf("customers", VendureCustomer),
    updatedAt: (c: VendureCustomer) => c.updatedAt,
    id: (c: VendureCustomer) => c.id,
  };
  return keysetStream(
    "customer",
    client,
    maxPage,
    query,
    async (id) =>
      (await client.request(CUSTOMER, { id }, z.object({ customer: VendureCustomer.nullable() }))).customer,
    (c) => customerToCanonical(system, c),
  );
}
