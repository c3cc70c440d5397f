/**
 * Vendure customers → canonical Customer, keyed by the lower-cased e-mail. The customer group is the
 * first Vendure customer group the customer belongs to, by name (Vendure has no single "group" field; a
 * customer in several groups is mapped to the first and the rest are not carried).
 *
 * Only registered customers are read. Vendure creates a customer for every cart that is given an e-mail,
 * including carts that are never placed; such a guest reaches the ERP with its first placed order (the
 * order writer finds or creates the party by e-mail), never from an abandoned cart.
 *
 * Changes are found by content, not by `updatedAt`: Vendure does not move a customer's updatedAt when one of
 * its addresses is edited, so an incremental read would miss a new street for ever. Every run reads all
 * registered customers (keyset on createdAt, which never moves, so paging neither skips nor repeats) and the
 * engine skips those whose content hash is unchanged: one call per page of customers and run.
 */
import { z } from "zod";
import type { Removal } from "../../../core/merge.ts";
import type { Customer } from "../../../core/model.ts";
import type { Stream } from "../../../ports/connector.ts";
import type { VendureClient } from "../client.ts";
import { CUSTOMER_FIELDS, listOf, VendureCustomer } from "../native.ts";
import { keysetPages } from "./paging.ts";

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
    updatedAt: lastChange(c),
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

/** The latest of the customer's own change and its addresses' (which do not move the customer's). */
function lastChange(c: VendureCustomer): string {
  let at = c.updatedAt;
  for (const a of c.addresses ?? []) if (Date.parse(a.updatedAt) > Date.parse(at)) at = a.updatedAt;
  return at;
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
    timeField: "createdAt" as const,
    updatedAt: (c: VendureCustomer) => c.createdAt,
    id: (c: VendureCustomer) => c.id,
  };
  const registered = (c: VendureCustomer | null) => (c?.user ? c : null);
  return {
    entity: "customer",
    // Whole reads, compared by content: the cursor never applies (see above).
    sorted: false,
    async *list(req) {
      for await (const page of keysetPages(client, query, { ...req, since: null }, maxPage)) {
        const mine = page.filter((c) => registered(c) !== null);
        if (mine.length > 0) yield mine;
      }
    },
    get: async (id) =>
      registered(
        (await client.request(CUSTOMER, { id }, z.object({ customer: VendureCustomer.nullable() }))).customer,
      ),
    idOf: (c) => c.id,
    updatedAtOf: lastChange,
    removed: (ids) => removedCustomers(client, ids),
    toCanonical: (c) => customerToCanonical(system, c),
  };
}

const LIVE = `query LiveCustomers($ids: [String!]!, $take: Int!) {
  customers(options: { filter: { id: { in: $ids } }, take: $take }) { items { id } }
}`;

/**
 * Of these customer ids, those Vendure no longer holds: deleted (Vendure keeps a deleted customer's row for its
 * orders, but its API no longer lists or returns it). Vendure has no archived state for customers. One call
 * per hundred ids.
 */
export async function removedCustomers(client: VendureClient, ids: string[]): Promise<Map<string, Removal>> {
  const live = new Set<string>();
  for (let i = 0; i < ids.length; i += 100) {
    const chunk = ids.slice(i, i + 100);
    const data = await client.request(
      LIVE,
      { ids: chunk, take: chunk.length },
      z.object({ customers: z.object({ items: z.array(z.object({ id: z.string() })) }) }),
    );
    for (const c of data.customers.items) live.add(c.id);
  }
  return new Map(ids.filter((id) => !live.has(id)).map((id) => [id, "deleted" as const]));
}
