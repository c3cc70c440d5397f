/**
 * Canonical Customer → a Vendure customer (found by e-mail, whatever its case), its addresses, and
 * membership of the Vendure customer group named after the canonical group, created on first use. With price lists written as
 * channels (see price.ts), that group is what a storefront reads to choose the customer's channel.
 * Addresses already present (same street, city, postal code and country) are kept, new ones added, none
 * removed; membership of other groups is left alone (a shop has groups of its own).
 */
import { z } from "zod";
import { SyncError } from "../../../core/errors.ts";
import type { Address, Customer } from "../../../core/model.ts";
import type { WriteItem, WriteResult, Writer } from "../../../ports/connector.ts";
import { perRecord } from "../../call-estimate.ts";
import { ErrorResult, type VendureClient } from "../client.ts";
import { errorResult } from "../lookup.ts";
import { removedCustomers } from "../streams/customer.ts";
import { perItem } from "./results.ts";

const FIELDS = `id firstName lastName phoneNumber emailAddress groups { id name }
  addresses { streetLine1 city postalCode country { code } }`;
const VendureCustomerRef = z.object({
  id: z.string(),
  firstName: z.string(),
  lastName: z.string(),
  phoneNumber: z.string().nullable(),
  emailAddress: z.string(),
  groups: z.array(z.object({ id: z.string(), name: z.string() })),
  addresses: z
    .array(
      z.object({
        streetLine1: z.string(),
        city: z.string().nullable(),
        postalCode: z.string().nullable(),
        country: z.object({ code: z.string() }),
      }),
    )
    .nullable(),
});
type VendureCustomerRef = z.infer<typeof VendureCustomerRef>;

const BY_EMAIL = `query CustomerByEmail($emails: [String!]!) {
  customers(options: { filter: { emailAddress: { in: $emails } }, take: 5 }) { items { ${FIELDS} } }
}`;
const CREATE = `mutation CreateCustomer($input: CreateCustomerInput!) {
  createCustomer(input: $input) { __typename ... on Customer { ${FIELDS} } ... on ErrorResult { errorCode message } }
}`;
const UPDATE = `mutation UpdateCustomer($input: UpdateCustomerInput!) {
  updateCustomer(input: $input) { __typename ... on Customer { id } ... on ErrorResult { errorCode message } }
}`;
const ADD_ADDRESS = `mutation AddAddress($id: ID!, $input: CreateAddressInput!) {
  createCustomerAddress(customerId: $id, input: $input) { id }
}`;
const DELETE = `mutation DeleteCustomer($id: ID!) { deleteCustomer(id: $id) { result message } }`;
const GROUPS = `query Groups($name: String!) {
  customerGroups(options: { filter: { name: { eq: $name } }, take: 1 }) { items { id name } }
}`;
const CREATE_GROUP = `mutation CreateGroup($name: String!) { createCustomerGroup(input: { name: $name }) { id name } }`;
const ADD_TO_GROUP = `mutation AddToGroup($group: ID!, $ids: [ID!]!) {
  addCustomersToGroup(customerGroupId: $group, customerIds: $ids) { id }
}`;

const sameAddress = (a: Address, b: NonNullable<VendureCustomerRef["addresses"]>[number]) =>
  a.line1 === b.streetLine1 &&
  a.city === (b.city ?? "") &&
  (a.postalCode ?? "") === (b.postalCode ?? "") &&
  a.country === b.country.code.toUpperCase();

export function customerWriter(system: string, client: VendureClient): Writer<"customer"> {
  const groupIds = new Map<string, string>();

  async function byEmail(email: string): Promise<VendureCustomerRef | null> {
    // Vendure stores addresses lower-cased (older versions as given) and compares them exactly: asking for
    // an ERP's "Ada@Example.com" alone finds nothing, and the create that follows is refused as a conflict.
    const data = await client.request(
      BY_EMAIL,
      { emails: [...new Set([email, email.toLowerCase()])] },
      z.object({ customers: z.object({ items: z.array(VendureCustomerRef) }) }),
    );
    return data.customers.items.find((c) => c.emailAddress.toLowerCase() === email.toLowerCase()) ?? null;
  }

  async function groupId(name: string): Promise<string> {
    const known = groupIds.get(name);
    if (known) return known;
    const Groups = z.object({
      customerGroups: z.object({ items: z.array(z.object({ id: z.string(), name: z.string() })) }),
    });
    const found = (await client.request(GROUPS, { name }, Groups)).customerGroups.items.find(
      (g) => g.name === name,
    );
    const id =
      found?.id ??
      (
        await client.request(
          CREATE_GROUP,
          { name },
          z.object({ createCustomerGroup: z.object({ id: z.string() }) }),
        )
      ).createCustomerGroup.id;
    groupIds.set(name, id);
    return id;
  }

  async function writeOne(item: WriteItem<"customer">): Promise<WriteResult> {
    const c: Customer = item.record;
    const fields = { firstName: c.firstName ?? "", lastName: c.lastName, phoneNumber: c.phone ?? "" };
    let existing = await byEmail(c.email);
    let changed = false;
    if (existing === null) {
      const data = await client.request(
        CREATE,
        { input: { emailAddress: c.email, ...fields } },
        z.object({ createCustomer: z.union([VendureCustomerRef, ErrorResult]) }),
      );
      const created = data.createCustomer;
      if ("errorCode" in created) {
        return {
          key: item.key,
          ok: false,
          error: errorResult(system, `customer ${c.email}`, created, "email"),
        };
      }
      existing = created;
      changed = true;
    } else if (
      existing.firstName !== fields.firstName ||
      existing.lastName !== fields.lastName ||
      (existing.phoneNumber ?? "") !== fields.phoneNumber
    ) {
      const data = await client.request(
        UPDATE,
        { input: { id: existing.id, ...fields } },
        z.object({ updateCustomer: z.union([z.object({ id: z.string() }), ErrorResult]) }),
      );
      if ("errorCode" in data.updateCustomer) {
        return {
          key: item.key,
          ok: false,
          error: errorResult(system, `customer ${c.email}`, data.updateCustomer),
        };
      }
      changed = true;
    }
    const have = existing.addresses ?? [];
    for (const a of c.addresses) {
      if (have.some((h) => sameAddress(a, h))) continue;
      await client.request(
        ADD_ADDRESS,
        {
          id: existing.id,
          // Vendure's address columns are NOT NULL with '' as default: absent values are left out, not null.
          input: {
            fullName: a.name ?? [c.firstName, c.lastName].filter(Boolean).join(" "),
            streetLine1: a.line1,
            city: a.city,
            countryCode: a.country,
            ...(a.company === undefined ? {} : { company: a.company }),
            ...(a.line2 === undefined ? {} : { streetLine2: a.line2 }),
            ...(a.region === undefined ? {} : { province: a.region }),
            ...(a.postalCode === undefined ? {} : { postalCode: a.postalCode }),
            ...(a.phone === undefined ? {} : { phoneNumber: a.phone }),
            defaultShippingAddress: a.type !== "billing" && have.length === 0,
            defaultBillingAddress: a.type !== "shipping" && have.length === 0,
          },
        },
        z.unknown(),
      );
      changed = true;
    }
    if (c.group !== undefined && !existing.groups.some((g) => g.name === c.group)) {
      await client.request(ADD_TO_GROUP, { group: await groupId(c.group), ids: [existing.id] }, z.unknown());
      changed = true;
    }
    const action = !changed ? "unchanged" : item.targetId === null ? "created" : "updated";
    return { key: item.key, ok: true, targetId: existing.id, action };
  }

  return {
    entity: "customer",
    estimateCalls: perRecord({ create: 3, update: 2 }),
    /** Vendure can only delete a customer (its orders keep it); one already deleted is left as it is. */
    async remove(id, how) {
      if (how !== "delete") {
        throw new SyncError("config", `${system}: Vendure cannot archive a customer, only delete one`, {
          system,
        });
      }
      if ((await removedCustomers(client, [id])).has(id)) return;
      const data = await client.request(
        DELETE,
        { id },
        z.object({ deleteCustomer: z.object({ result: z.string(), message: z.string().nullable() }) }),
      );
      if (data.deleteCustomer.result !== "DELETED") {
        throw new SyncError(
          "permanent",
          `${system}: Vendure did not delete customer ${id}: ${data.deleteCustomer.message ?? data.deleteCustomer.result}`,
          { system },
        );
      }
    },
    async upsert(items) {
      const results: WriteResult[] = [];
      for (const item of items) results.push(await perItem(item.key, system, () => writeOne(item)));
      return results;
    },
    async findByExternalRef(_ref, record) {
      return (await byEmail(record.email))?.id ?? null;
    },
  };
}
