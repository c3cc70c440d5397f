/**
 * Customers → NetSuite customer records (individuals). Found first by e-mail (SuiteQL) so a crash between
 * "created" and "recorded" finds the customer again; created by POST (the id from Location); an existing
 * one is patched only in the fields that differ. Addresses (the addressBook sublist) are not written.
 */
import pLimit from "p-limit";
import type { Customer } from "../../../core/model.ts";
import type { WriteResult, Writer } from "../../../ports/connector.ts";
import { failed, perItemLimited } from "../../write-results.ts";
import { type NsRow, sql } from "../client.ts";
import type { NetSuiteContext } from "../context.ts";
import { CUSTOMER_COLS } from "../streams/customer.ts";

export async function customerByEmail(ctx: NetSuiteContext, email: string, signal?: AbortSignal) {
  return ctx.client.first(
    `SELECT ${CUSTOMER_COLS.join(", ")} FROM customer WHERE email = ${sql(email.toLowerCase())} ORDER BY id`,
    signal,
  );
}

export function customerWriter(ctx: NetSuiteContext): Writer<"customer"> {
  const limit = pLimit(ctx.config.maxConcurrent);
  const writeOne = async (key: string, c: Customer, signal?: AbortSignal): Promise<WriteResult> => {
    if (!/^[^@\s]+@[^@\s]+$/.test(c.email)) {
      return failed(
        key,
        "data",
        `customer e-mail ${JSON.stringify(c.email)} is not an address`,
        ctx.name,
        "email",
      );
    }
    const fields: NsRow = {
      email: c.email.toLowerCase(),
      firstName: c.firstName ?? "",
      lastName: c.lastName,
      phone: c.phone ?? "",
    };
    const existing = await customerByEmail(ctx, c.email, signal);
    if (!existing) {
      const id = await ctx.client.create(
        "customer",
        {
          isPerson: true,
          ...fields,
          ...(ctx.config.subsidiary ? { subsidiary: { id: ctx.config.subsidiary } } : {}),
        },
        signal,
      );
      return { key, ok: true, targetId: id, action: "created" };
    }
    const id = String(existing.id);
    const now: NsRow = {
      email: existing.email ?? "",
      firstName: existing.firstname ?? "",
      lastName: existing.lastname ?? "",
      phone: existing.phone ?? "",
    };
    const patch: NsRow = {};
    for (const [k, v] of Object.entries(fields)) if (now[k] !== v) patch[k] = v;
    if (Object.keys(patch).length === 0) return { key, ok: true, targetId: id, action: "unchanged" };
    await ctx.client.update("customer", id, patch, signal);
    return { key, ok: true, targetId: id, action: "updated" };
  };
  return {
    entity: "customer",
    upsert: (items, wctx) =>
      perItemLimited(items, ctx.name, limit, (i) => writeOne(i.key, i.record, wctx.signal)),
    async findByExternalRef(_ref, record) {
      const row = await customerByEmail(ctx, record.email);
      return row ? String(row.id) : null;
    },
    // Per record: the look-up by e-mail, then a create or (when something differs) a patch.
    estimateCalls: (page) => page.create.length * 2 + page.update.length * 2 + page.lookups.length,
  };
}
