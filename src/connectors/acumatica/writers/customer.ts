/**
 * Customers → Acumatica customers (Customer with MainContact and its address). A customer is found by its
 * e-mail (Customer.Email, the main contact's) before anything is created, so a crash between "created" and
 * "recorded" finds it again. A new customer's CustomerID is derived from the e-mail (prefix + hash): two
 * runs racing to create the same customer meet on the same key, and PUT (an upsert by key) makes it one.
 * An existing customer is written only when a field differs; writing the same customer again sends nothing.
 */
import { createHash } from "node:crypto";
import pLimit from "p-limit";
import type { Customer } from "../../../core/model.ts";
import type { WriteResult, Writer } from "../../../ports/connector.ts";
import { failed, perItemLimited } from "../../write-results.ts";
import { type AcuRow, literal, val, wrap } from "../client.ts";
import type { AcumaticaContext } from "../context.ts";
import { CUSTOMER_EXPAND } from "../streams.ts";

/** Acumatica's default customer key segment is 10 characters. */
const CUSTOMER_ID_LENGTH = 10;

export function customerIdFor(prefix: string, email: string): string {
  const hash = BigInt(`0x${createHash("sha256").update(email.toLowerCase()).digest("hex").slice(0, 16)}`)
    .toString(36)
    .toUpperCase();
  return `${prefix}${hash}`.slice(0, CUSTOMER_ID_LENGTH);
}

/** The Customer body of a canonical customer (fields only; no id or key). */
export function customerBody(ctx: AcumaticaContext, c: Customer): AcuRow {
  const name = [c.firstName, c.lastName].filter(Boolean).join(" ") || c.email;
  const cls = c.group === undefined ? ctx.config.defaultCustomerClass : ctx.config.customerClasses[c.group];
  const a = c.addresses.find((x) => x.type !== "shipping") ?? c.addresses[0];
  return {
    CustomerName: wrap(name),
    ...(cls ? { CustomerClass: wrap(cls) } : {}),
    MainContact: {
      Email: wrap(c.email.toLowerCase()),
      FirstName: wrap(c.firstName ?? ""),
      LastName: wrap(c.lastName ?? name),
      Phone1: wrap(c.phone ?? ""),
      ...(a
        ? {
            Address: {
              AddressLine1: wrap(a.line1),
              AddressLine2: wrap(a.line2 ?? ""),
              City: wrap(a.city),
              PostalCode: wrap(a.postalCode ?? ""),
              State: wrap(a.region ?? ""),
              Country: wrap(a.country),
            },
          }
        : {}),
    },
  };
}

/** Whether every field of `body` holds the same value in `row` (empty and absent are the same). */
export function sameFields(body: AcuRow, row: AcuRow | undefined): boolean {
  const norm = (v: unknown) => (v === null || v === undefined ? "" : v);
  for (const [k, v] of Object.entries(body)) {
    if (typeof v !== "object" || v === null || Array.isArray(v)) continue;
    if ("value" in v) {
      if (norm((v as { value: unknown }).value) !== norm(val(row, k))) return false;
    } else if (!sameFields(v as AcuRow, row?.[k] as AcuRow | undefined)) return false;
  }
  return true;
}

export function customerWriter(ctx: AcumaticaContext): Writer<"customer"> {
  const { client } = ctx;
  const limit = pLimit(ctx.config.concurrency);
  const byEmail = (email: string, signal?: AbortSignal) =>
    client.first("Customer", {
      filter: `Email eq ${literal(email.toLowerCase())}`,
      expand: CUSTOMER_EXPAND,
      ...(signal ? { signal } : {}),
    });
  const byId = (id: string, signal?: AbortSignal) =>
    client.first("Customer", {
      filter: `CustomerID eq ${literal(id)}`,
      expand: CUSTOMER_EXPAND,
      ...(signal ? { signal } : {}),
    });

  const writeOne = async (
    key: string,
    c: Customer,
    targetId: string | null,
    signal?: AbortSignal,
  ): Promise<WriteResult> => {
    if (c.group !== undefined && ctx.config.customerClasses[c.group] === undefined) {
      return failed(
        key,
        "data",
        `customer group ${JSON.stringify(c.group)} has no Acumatica customer class: add it to customerClasses (known: ${Object.keys(ctx.config.customerClasses).join(", ") || "none"})`,
        ctx.name,
        "group",
      );
    }
    const bad = c.addresses.find((a) => !/^[A-Z]{2}$/.test(a.country));
    if (bad) {
      return failed(
        key,
        "data",
        `address country ${JSON.stringify(bad.country)} is not an ISO 3166 code`,
        ctx.name,
        "addresses.country",
      );
    }
    const existing = (targetId ? await byId(targetId, signal) : null) ?? (await byEmail(c.email, signal));
    const body = customerBody(ctx, c);
    if (existing) {
      const id = String(val(existing, "CustomerID"));
      if (sameFields(body, existing)) return { key, ok: true, targetId: id, action: "unchanged" };
      await client.put("Customer", { CustomerID: wrap(id), ...body }, { ...(signal ? { signal } : {}) });
      return { key, ok: true, targetId: id, action: "updated" };
    }
    const id = customerIdFor(ctx.config.customerIdPrefix, c.email);
    const row = await client.put(
      "Customer",
      { CustomerID: wrap(id), ...body },
      { ...(signal ? { signal } : {}) },
    );
    return { key, ok: true, targetId: String(val(row, "CustomerID") ?? id), action: "created" };
  };

  return {
    entity: "customer",
    upsert: (items, wctx) =>
      perItemLimited(items, ctx.name, limit, (i) => writeOne(i.key, i.record, i.targetId, wctx.signal)),
    async findByExternalRef(_ref, record) {
      const row = await byEmail(record.email);
      return row ? String(val(row, "CustomerID")) : null;
    },
    // Per record: the lookup, then a PUT when something differs.
    estimateCalls: (page) => page.create.length * 2 + page.update.length * 2 + page.lookups.length,
  };
}
