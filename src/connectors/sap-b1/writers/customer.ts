/**
 * Customers → business partners of type cCustomer. A customer is found by its e-mail (EmailAddress) before
 * anything is created, so a crash between "created" and "recorded" finds the partner again. A new partner's
 * CardCode is derived from the e-mail (prefix + hash), so even two runs racing to create the same customer
 * collide on B1's unique key instead of making two. An existing partner is patched only in the fields that
 * differ; writing the same customer again sends nothing.
 */
import { createHash } from "node:crypto";
import pLimit from "p-limit";
import type { Address, Customer } from "../../../core/model.ts";
import type { WriteResult, Writer } from "../../../ports/connector.ts";
import { failed, perItemLimited } from "../../write-results.ts";
import type { B1Row } from "../client.ts";
import type { SapB1Context } from "../context.ts";
import { addressesOf, PARTNER_FIELDS } from "../streams/customer.ts";
import { literal } from "../time.ts";

const CARD_CODE_LENGTH = 15;

export function cardCodeFor(prefix: string, email: string): string {
  const hash = BigInt(`0x${createHash("sha256").update(email.toLowerCase()).digest("hex").slice(0, 20)}`)
    .toString(36)
    .toUpperCase()
    .padStart(16, "0");
  return `${prefix}${hash}`.slice(0, CARD_CODE_LENGTH);
}

/** The BPAddresses rows of the canonical addresses: "both" is a bill-to and a ship-to of the same name. */
export function bpAddresses(addresses: readonly Address[]): B1Row[] {
  const rows: B1Row[] = [];
  addresses.forEach((a, i) => {
    const name = `Passerelle ${i + 1}`;
    const fields = {
      Street: a.line1,
      Block: a.line2 ?? "",
      City: a.city,
      ZipCode: a.postalCode ?? "",
      State: a.region ?? "",
      Country: a.country,
    };
    if (a.type !== "shipping") rows.push({ AddressName: name, AddressType: "bo_BillTo", ...fields });
    if (a.type !== "billing") rows.push({ AddressName: name, AddressType: "bo_ShipTo", ...fields });
  });
  return rows;
}

function fieldsOf(ctx: SapB1Context, c: Customer): B1Row {
  const name = [c.firstName, c.lastName].filter(Boolean).join(" ");
  const group = c.group === undefined ? ctx.config.defaultGroupCode : ctx.config.customerGroups[c.group];
  return {
    CardName: name,
    EmailAddress: c.email.toLowerCase(),
    Phone1: c.phone ?? "",
    ...(group !== undefined ? { GroupCode: group } : {}),
  };
}

const norm = (v: unknown) => (v === null || v === undefined ? "" : v);

export function customerWriter(ctx: SapB1Context): Writer<"customer"> {
  const { client } = ctx;
  const limit = pLimit(ctx.config.concurrency);
  const findByEmail = async (email: string, signal?: AbortSignal): Promise<B1Row | null> => {
    for await (const page of client.list("BusinessPartners", {
      filter: `CardType eq 'cCustomer' and EmailAddress eq ${literal(email.toLowerCase())}`,
      orderby: "CardCode",
      select: PARTNER_FIELDS,
      pageSize: 1,
      ...(signal ? { signal } : {}),
    })) {
      return page[0] ?? null;
    }
    return null;
  };

  const writeOne = async (
    key: string,
    c: Customer,
    targetId: string | null,
    signal?: AbortSignal,
  ): Promise<WriteResult> => {
    if (c.group !== undefined && ctx.config.customerGroups[c.group] === undefined) {
      return failed(
        key,
        "data",
        `customer group ${JSON.stringify(c.group)} has no B1 group: add it to customerGroups (known: ${Object.keys(ctx.config.customerGroups).join(", ") || "none"})`,
        ctx.name,
        "group",
      );
    }
    const bad = c.addresses.find((a) => !/^[A-Z]{2}$/.test(a.country));
    if (bad)
      return failed(
        key,
        "data",
        `address country ${JSON.stringify(bad.country)} is not an ISO code`,
        ctx.name,
        "addresses.country",
      );
    const existing =
      (targetId ? await client.get("BusinessPartners", targetId, PARTNER_FIELDS, signal) : null) ??
      (await findByEmail(c.email, signal));
    const fields = fieldsOf(ctx, c);
    const addresses = bpAddresses(c.addresses);
    if (!existing) {
      const created = await client.create(
        "BusinessPartners",
        {
          CardCode: cardCodeFor(ctx.config.cardCodePrefix, c.email),
          CardType: "cCustomer",
          ...fields,
          BPAddresses: addresses,
        },
        signal,
      );
      return { key, ok: true, targetId: String(created.CardCode), action: "created" };
    }
    const code = String(existing.CardCode);
    const patch: B1Row = {};
    for (const [k, v] of Object.entries(fields)) if (norm(existing[k]) !== v) patch[k] = v;
    // Addresses: compared as Passerelle reads them, so one written and read back unchanged sends nothing.
    if (JSON.stringify(addressesOf(existing.BPAddresses)) !== JSON.stringify(addressesOf(addresses))) {
      patch.BPAddresses = addresses;
    }
    if (Object.keys(patch).length === 0) return { key, ok: true, targetId: code, action: "unchanged" };
    await client.update("BusinessPartners", code, patch, signal);
    return { key, ok: true, targetId: code, action: "updated" };
  };

  return {
    entity: "customer",
    upsert: (items, wctx) =>
      perItemLimited(items, ctx.name, limit, (i) => writeOne(i.key, i.record, i.targetId, wctx.signal)),
    async findByExternalRef(_ref, record) {
      const row = await findByEmail(record.email);
      return row ? String(row.CardCode) : null;
    },
    // Per record: the partner by its link or e-mail, then a create or (when something differs) a patch.
    estimateCalls: (page) => page.create.length * 2 + page.update.length * 2 + page.lookups.length,
  };
}
