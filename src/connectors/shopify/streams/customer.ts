/** Shopify customers → canonical Customer. The customer group comes from a `group:<code>` tag. */
import { z } from "zod";
import { SyncError } from "../../../core/errors.ts";
import type { Address as CanonicalAddress, Customer } from "../../../core/model.ts";
import type { Stream } from "../../../ports/connector.ts";
import type { ShopifyClient } from "../client.ts";
import { type Address, connectionOf, ShopifyCustomer } from "../native.ts";
import { CUSTOMER, CUSTOMERS } from "../operations.ts";
import { byUpdatedThenId, pages } from "./paging.ts";

export const GROUP_TAG = "group:";

/** Addresses missing a street, city or country cannot be canonical; they are left out rather than invented. */
export function toCanonicalAddress(
  a: Address,
  type: CanonicalAddress["type"] = "both",
): CanonicalAddress | null {
  if (!a.address1 || !a.city || !a.countryCodeV2) return null;
  const name = [a.firstName, a.lastName].filter(Boolean).join(" ");
  return {
    type,
    name: name || undefined,
    company: a.company ?? undefined,
    line1: a.address1,
    line2: a.address2 ?? undefined,
    city: a.city,
    postalCode: a.zip ?? undefined,
    region: a.province ?? undefined,
    country: a.countryCodeV2,
    phone: a.phone ?? undefined,
  };
}

export function customerStream(system: string, client: ShopifyClient): Stream<"customer", ShopifyCustomer> {
  const sort = byUpdatedThenId<ShopifyCustomer>(
    (c) => c.updatedAt,
    (c) => c.id,
  );
  return {
    entity: "customer",
    sorted: true,
    list: (req) =>
      pages(
        client,
        CUSTOMERS,
        "customers",
        z.object({ customers: connectionOf(ShopifyCustomer) }),
        req,
        sort,
      ),
    async get(id) {
      const data = await client.request(CUSTOMER, { id }, z.object({ customer: ShopifyCustomer.nullable() }));
      return data.customer;
    },
    idOf: (c) => c.id,
    updatedAtOf: (c) => c.updatedAt,
    toCanonical(c): Customer {
      const email = c.defaultEmailAddress?.emailAddress?.toLowerCase();
      if (!email) {
        throw new SyncError(
          "data",
          `Shopify customer ${c.id} has no e-mail address, which is its canonical key`,
          {
            system,
            field: "defaultEmailAddress",
          },
        );
      }
      const group = c.tags.find((t) => t.startsWith(GROUP_TAG))?.slice(GROUP_TAG.length);
      return {
        source: system,
        sourceId: c.id,
        updatedAt: c.updatedAt,
        key: email,
        email,
        firstName: c.firstName ?? undefined,
        // Shopify allows a customer without a last name; the canonical model does not, so the best
        // available name stands in rather than rejecting a real buyer.
        lastName: c.lastName || c.firstName || email.split("@")[0] || email,
        phone: c.defaultPhoneNumber?.phoneNumber ?? undefined,
        company: c.addressesV2.nodes.find((a) => a.company)?.company ?? undefined,
        group: group || undefined,
        addresses: c.addressesV2.nodes.flatMap((a) => toCanonicalAddress(a) ?? []),
      };
    },
  };
}
