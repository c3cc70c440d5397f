/**
 * Customers → Business Central customers. A customer is found by its e-mail before anything is created, so
 * a crash between "created" and "recorded" finds it again. The page holds one address: the canonical
 * customer's first billing (or "both") address is written there, or its first address of any type. An
 * existing customer is patched (If-Match with the @odata.etag it was read with) only in the fields that
 * differ; writing the same customer again sends nothing. Business Central's customer numbers come from its
 * number series, so two runs racing to create one customer could make two; the engine's lease on a record
 * keeps that from happening within one Passerelle.
 */
import pLimit from "p-limit";
import type { Address, Customer } from "../../../core/model.ts";
import type { WriteResult, Writer } from "../../../ports/connector.ts";
import { failed, perItemLimited } from "../../write-results.ts";
import type { BcRow } from "../client.ts";
import type { BusinessCentralContext } from "../context.ts";
import { GUID } from "../paging.ts";
import { CUSTOMER_FIELDS, findCustomerByEmail } from "../streams/customer.ts";

/** The one address the page holds. */
export function mainAddress(addresses: readonly Address[]): Address | undefined {
  return addresses.find((a) => a.type !== "shipping") ?? addresses[0];
}

/** Business Central's field lengths (Customer table): longer values are refused by BC. */
const LENGTHS: Record<string, number> = {
  displayName: 100,
  email: 80,
  phoneNumber: 30,
  addressLine1: 100,
  addressLine2: 50,
  city: 30,
  state: 30,
  postalCode: 20,
  country: 10,
};

export function customerFields(c: Customer): BcRow {
  const a = mainAddress(c.addresses);
  return {
    displayName: [c.firstName, c.lastName].filter(Boolean).join(" ") || c.email,
    type: "Person",
    email: c.email.toLowerCase(),
    phoneNumber: c.phone ?? "",
    addressLine1: a?.line1 ?? "",
    addressLine2: a?.line2 ?? "",
    city: a?.city ?? "",
    state: a?.region ?? "",
    postalCode: a?.postalCode ?? "",
    country: a?.country ?? "",
  };
}

export function customerWriter(ctx: BusinessCentralContext): Writer<"customer"> {
  const { client } = ctx;
  const limit = pLimit(ctx.config.maxConcurrent);

  const writeOne = async (
    key: string,
    c: Customer,
    targetId: string | null,
    signal?: AbortSignal,
  ): Promise<WriteResult> => {
    const bad = c.addresses.find((a) => !/^[A-Z]{2}$/.test(a.country));
    if (bad) {
      return failed(
        key,
        "data",
        `address country ${JSON.stringify(bad.country)} is not an ISO code`,
        ctx.name,
        "addresses.country",
      );
    }
    const fields = customerFields(c);
    for (const [f, max] of Object.entries(LENGTHS)) {
      const v = String(fields[f] ?? "");
      if (v.length > max) {
        return failed(
          key,
          "data",
          `${f} ${JSON.stringify(v)} is longer than Business Central's ${max} characters`,
          ctx.name,
          f,
        );
      }
    }
    const existing =
      (targetId && GUID.test(targetId)
        ? await client.get(`customers(${targetId})`, {
            select: CUSTOMER_FIELDS,
            ...(signal ? { signal } : {}),
          })
        : null) ?? (await findCustomerByEmail(ctx, c.email, signal));
    if (!existing) {
      const created = await client.create("customers", fields, signal);
      return { key, ok: true, targetId: String(created.id), action: "created" };
    }
    const id = String(existing.id);
    const patch: BcRow = {};
    for (const [k, v] of Object.entries(fields)) {
      if (k === "type") continue;
      if ((existing[k] ?? "") !== v) patch[k] = v;
    }
    if (Object.keys(patch).length === 0) return { key, ok: true, targetId: id, action: "unchanged" };
    await client.update(`customers(${id})`, String(existing["@odata.etag"] ?? "*"), patch, signal);
    return { key, ok: true, targetId: id, action: "updated" };
  };

  return {
    entity: "customer",
    upsert: (items, wctx) =>
      perItemLimited(items, ctx.name, limit, (i) => writeOne(i.key, i.record, i.targetId, wctx.signal)),
    async findByExternalRef(_ref, record) {
      const row = await findCustomerByEmail(ctx, record.email);
      return row ? String(row.id) : null;
    },
    // Per record: the customer by its link or e-mail, then a create or (when something differs) a patch.
    estimateCalls: (page) => page.create.length * 2 + page.update.length * 2 + page.lookups.length,
  };
}
