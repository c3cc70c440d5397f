import { asSyncError, SyncError } from "../../../core/errors.ts";
import type { Address, Customer } from "../../../core/model.ts";
import type { WriteResult, Writer } from "../../../ports/connector.ts";
import type { OdooRow } from "../client.ts";
import { type OdooContext, pricelistGroup } from "../context.ts";
import { many2one, str } from "../fields.ts";
import { BUYER } from "../partners.ts";
import { removedPartners } from "../streams/customer.ts";

const MAIN_FIELDS = [
  "name",
  "email",
  "phone",
  "street",
  "street2",
  "city",
  "zip",
  "country_id",
  "property_product_pricelist",
];

type Vals = Record<string, string | number | boolean>;

export async function findPartnerByEmail(
  ctx: OdooContext,
  email: string,
  signal?: AbortSignal,
  opts: { buyers?: boolean } = {},
): Promise<number | null> {
  return (await findPartnersByEmail(ctx, [email], signal, opts)).get(email.trim().toLowerCase()) ?? null;
}

/**
 * Top-level partners by e-mail for many addresses in one call (case-insensitive, the oldest partner per
 * address): e-mail (trimmed, lower case) → partner id; absent when Odoo has none. With `buyers`, a
 * company's buyer (see BUYER) with the address is found too when no top-level partner has it, so an order
 * placed by a buyer lands on the company's account.
 */
export async function findPartnersByEmail(
  ctx: OdooContext,
  emails: string[],
  signal?: AbortSignal,
  opts: { buyers?: boolean } = {},
): Promise<Map<string, number>> {
  const wanted = [...new Set(emails.map((e) => e.trim().toLowerCase()).filter((e) => e !== ""))];
  const found = new Map<string, number>();
  if (wanted.length === 0) return found;
  const terms = wanted.map((e) => ["email", "=ilike", e.replace(/[\\%_]/g, (c) => `\\${c}`)]);
  // Prefix notation: n terms joined by n - 1 "|" operators.
  const anyOf = [...Array.from({ length: wanted.length - 1 }, () => "|"), ...terms];
  const whose = opts.buyers ? ["|", ["parent_id", "=", false], ...BUYER] : [["parent_id", "=", false]];
  const rows = await ctx.client.searchRead("res.partner", [...anyOf, ...whose], ["email", "parent_id"], {
    order: "id asc",
    signal,
  });
  // Top-level partners first, then buyers; the oldest of each.
  const ranked = [...rows].sort((a, b) => Number(a.parent_id !== false) - Number(b.parent_id !== false));
  for (const r of ranked) {
    const email = str(r, "email")?.trim().toLowerCase();
    if (email && wanted.includes(email) && !found.has(email)) found.set(email, r.id);
  }
  return found;
}

export function addressVals(a: Address, countries: Map<string, number>): Vals {
  const country = countries.get(a.country);
  if (country === undefined) {
    throw new SyncError("permanent", `Odoo has no country with code ${JSON.stringify(a.country)}`, {
      field: "country",
    });
  }
  return {
    street: a.line1,
    street2: a.line2 ?? false,
    city: a.city,
    zip: a.postalCode ?? false,
    country_id: country,
  };
}

export async function countryIds(ctx: OdooContext, signal?: AbortSignal): Promise<Map<string, number>> {
  const rows = await ctx.client.searchRead("res.country", [], ["code"], { signal });
  return new Map(rows.flatMap((r) => (str(r, "code") ? [[String(str(r, "code")), r.id] as const] : [])));
}

/** The child partner type an address is kept as. */
const childType = (a: Address): string =>
  a.type === "shipping" ? "delivery" : a.type === "billing" ? "invoice" : "other";

function childVals(a: Address, countries: Map<string, number>): Vals {
  return { type: childType(a), name: a.name ?? false, phone: a.phone ?? false, ...addressVals(a, countries) };
}

const PLACE = ["street", "city", "zip", "country_id"] as const;

/** A partner row's value as written: a many2one's id, false for an empty string. */
const written = (row: OdooRow, field: string): unknown => {
  const now = row[field];
  return Array.isArray(now) ? many2one(row, field)?.id : now === "" ? false : now;
};

/** Whether two child partners' values name the same place (street, city, postal code and country). */
const samePlace = (a: Vals, b: Vals): boolean => PLACE.every((f) => a[f] === b[f]);

function fullName(c: Customer): string {
  return [c.firstName, c.lastName].filter((x) => x && x.length > 0).join(" ");
}

/**
 * res.partner by e-mail. The first "both" (else billing) address goes on the partner itself; the others
 * are invoice/delivery child partners: all created with the partner, and on an update, those no child
 * holds yet (same street, city, postal code and country; archived children included) are added — none is
 * removed or edited, as an Odoo partner's addresses are used by its past sales and invoices. An update writes the partner's own
 * fields only when they differ, so an unchanged customer costs one read (two with other addresses) and no
 * write.
 */
export function customerWriter(ctx: OdooContext): Writer<"customer"> {
  const { client } = ctx;
  return {
    entity: "customer",
    async remove(id, how, signal) {
      // Already gone (or already archived, for archive): nothing to do, so a repeated call is harmless.
      const state = (await removedPartners(ctx, [id], signal)).get(id);
      if (state === "deleted" || (how === "archive" && state === "archived")) return;
      if (how === "archive")
        await client.execute("res.partner", "write", [[Number(id)], { active: false }], {}, signal);
      else await client.execute("res.partner", "unlink", [[Number(id)]], {}, signal);
    },
    /** Reactivates an archived partner (a deleted one cannot come back: the caller creates it again). */
    async restore(id, signal) {
      const state = (await removedPartners(ctx, [id], signal)).get(id);
      if (state !== "archived") return;
      await client.execute("res.partner", "write", [[Number(id)], { active: true }], {}, signal);
    },
    estimateCalls(page) {
      // Per batch: countries and price lists. A new customer is searched by e-mail, then created; a
      // known one is read (with its child addresses), then written when it differs.
      const records = page.create.length + page.update.length;
      return (records > 0 ? 2 : 0) + 2 * page.create.length + 3 * page.update.length + page.lookups.length;
    },
    findByExternalRef: async (ref, record) => {
      const id = await findPartnerByEmail(ctx, record.email || ref);
      return id === null ? null : String(id);
    },
    async upsert(items, wctx) {
      const [countries, pricelists] = await Promise.all([
        countryIds(ctx, wctx.signal),
        client.searchRead("product.pricelist", [], ["name"], { signal: wctx.signal }),
      ]);
      const pricelistOfGroup = new Map(
        pricelists.map((p) => [pricelistGroup(str(p, "name") ?? "").group, p.id]),
      );
      const results: WriteResult[] = [];
      for (const item of items) {
        try {
          const c = item.record;
          const main =
            c.addresses.find((a) => a.type === "both") ?? c.addresses.find((a) => a.type === "billing");
          const vals: Vals = {
            name: fullName(c) || c.company || c.email,
            email: c.email,
            phone: c.phone ?? false,
            ...(main ? addressVals(main, countries) : {}),
          };
          const pricelist = c.group ? pricelistOfGroup.get(c.group) : undefined;
          if (pricelist !== undefined) vals.property_product_pricelist = pricelist;
          const id = item.targetId
            ? Number(item.targetId)
            : await findPartnerByEmail(ctx, c.email, wctx.signal);
          if (id === null || Number.isNaN(id)) {
            const children = c.addresses
              .filter((a) => a !== main)
              .map((a) => [0, 0, childVals(a, countries)]);
            const created = await client.execute(
              "res.partner",
              "create",
              [{ ...vals, child_ids: children }],
              {},
              wctx.signal,
            );
            if (typeof created !== "number")
              throw new SyncError("permanent", "Odoo's res.partner.create returned no id");
            results.push({ key: item.key, ok: true, targetId: String(created), action: "created" });
            continue;
          }
          const [current] = await client.read("res.partner", [id], MAIN_FIELDS, wctx.signal);
          if (!current) throw new SyncError("permanent", `res.partner(${id}) no longer exists in Odoo`);
          const changed: Record<string, unknown> = {};
          for (const [field, value] of Object.entries(vals))
            if (written(current, field) !== value) changed[field] = value;
          // Addresses the partner has no child for yet. An archived child counts (searched with `active` in
          // the domain, which Odoo's default active_test would otherwise hide): an address the merchant
          // archived in Odoo is not added back.
          const others = c.addresses.filter((a) => a !== main).map((a) => childVals(a, countries));
          const kids =
            others.length === 0
              ? []
              : await client.searchRead(
                  "res.partner",
                  [
                    ["parent_id", "=", id],
                    ["type", "in", ["invoice", "delivery", "other"]],
                    ["active", "in", [true, false]],
                  ],
                  ["street", "city", "zip", "country_id"],
                  { signal: wctx.signal },
                );
          const held = kids.map((k) => Object.fromEntries(PLACE.map((f) => [f, written(k, f)])) as Vals);
          const added: Vals[] = [];
          for (const v of others) if (![...held, ...added].some((h) => samePlace(h, v))) added.push(v);
          if (added.length > 0) changed.child_ids = added.map((v) => [0, 0, v]);
          if (Object.keys(changed).length > 0)
            await client.execute("res.partner", "write", [[id], changed], {}, wctx.signal);
          results.push({
            key: item.key,
            ok: true,
            targetId: String(id),
            action: Object.keys(changed).length > 0 ? "updated" : "unchanged",
          });
        } catch (err) {
          results.push({ key: item.key, ok: false, error: asSyncError(err, ctx.name) });
        }
      }
      return results;
    },
  };
}
