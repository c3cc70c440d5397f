import { SyncError } from "../../../core/errors.ts";
import type { Address, Customer } from "../../../core/model.ts";
import type { WriteResult, Writer } from "../../../ports/connector.ts";
import { perRecord } from "../../call-estimate.ts";
import type { TrytonRow } from "../client.ts";
import { failure, nested, priceListGroup, type TrytonContext } from "../context.ts";
import { id, str } from "../fields.ts";
import { removedParties } from "../streams/customer.ts";

/** The party whose e-mail contact mechanism is `email` (case-insensitive), or null. */
export async function findPartyByEmail(
  ctx: TrytonContext,
  email: string,
  signal?: AbortSignal,
): Promise<number | null> {
  const wanted = email.trim().toLowerCase();
  // `ilike` without wildcards is a case-insensitive equality; escape the LIKE wildcards an address may hold.
  const pattern = wanted.replace(/[\\%_]/g, (c) => `\\${c}`);
  const rows = await ctx.client.searchRead(
    "party.contact_mechanism",
    [
      ["type", "=", "email"],
      ["value", "ilike", pattern],
      ["party.active", "=", true],
    ],
    ["party", "value"],
    { signal },
  );
  const hit = rows.find((r) => str(r, "value")?.trim().toLowerCase() === wanted);
  return hit ? (id(hit, "party") ?? null) : null;
}

export async function countryIds(ctx: TrytonContext, signal?: AbortSignal): Promise<Map<string, number>> {
  const rows = await ctx.client.searchRead("country.country", [], ["code"], { signal });
  return new Map(rows.flatMap((r) => (str(r, "code") ? [[String(str(r, "code")), r.id] as const] : [])));
}

export function addressVals(
  a: Address,
  countries: Map<string, number>,
  owner: string,
): Record<string, unknown> {
  const country = countries.get(a.country);
  if (country === undefined) {
    throw new SyncError(
      "permanent",
      `${owner}: Tryton has no country with code ${JSON.stringify(a.country)}`,
      {
        field: "addresses.country",
      },
    );
  }
  return {
    party_name: a.name ?? null,
    street: [a.line1, a.line2].filter((l) => l && l.length > 0).join("\n"),
    postal_code: a.postalCode ?? null,
    city: a.city,
    country,
    invoice: a.type === "billing" || a.type === "both",
    delivery: a.type === "shipping" || a.type === "both",
  };
}

/** Whether a Tryton address row already says what a canonical address says. */
export function sameAddress(row: TrytonRow, a: Address): boolean {
  const street = [a.line1, a.line2].filter((l) => l && l.length > 0).join("\n");
  return (
    (str(row, "street") ?? "").trim() === street.trim() &&
    (str(row, "city") ?? "") === a.city &&
    (str(row, "postal_code") ?? "") === (a.postalCode ?? "") &&
    nested(row, "country", "code") === a.country
  );
}

/** How much of an address two sides share: street, city, postal code, country (0 to 4). */
function likeness(row: TrytonRow, a: Address): number {
  const street = [a.line1, a.line2].filter((l) => l && l.length > 0).join("\n");
  return (
    Number((str(row, "street") ?? "").trim() === street.trim()) +
    Number((str(row, "city") ?? "") === a.city) +
    Number((str(row, "postal_code") ?? "") === (a.postalCode ?? "")) +
    Number(nested(row, "country", "code") === a.country)
  );
}

/**
 * How a party's addresses become the customer's: an address Tryton already has is kept; an address that
 * differs from one of the party's in at most two of street, city, postal code and country is that address
 * edited (a corrected street, a new postal code) and is written in place; anything else is added. The
 * party's other addresses are left alone: the ERP may have addresses of its own, and an address may be on
 * sales and invoices already.
 */
export function addressChanges(
  rows: TrytonRow[],
  addresses: Address[],
): { keep: number[]; edit: { id: number; index: number }[]; add: number[] } {
  const free = new Set(rows.map((r) => r.id));
  const out = { keep: [] as number[], edit: [] as { id: number; index: number }[], add: [] as number[] };
  const pending: number[] = [];
  addresses.forEach((a, i) => {
    const same = rows.find((r) => free.has(r.id) && sameAddress(r, a));
    if (same) {
      free.delete(same.id);
      out.keep.push(same.id);
    } else pending.push(i);
  });
  for (const i of pending) {
    const a = addresses[i] as Address;
    let best: TrytonRow | undefined;
    for (const r of rows) {
      if (!free.has(r.id)) continue;
      if (likeness(r, a) >= 2 && (!best || likeness(r, a) > likeness(best, a))) best = r;
    }
    if (best) {
      free.delete(best.id);
      out.edit.push({ id: best.id, index: i });
    } else out.add.push(i);
  }
  return out;
}

/**
 * x2many commands that make the party's e-mail and phone the customer's, in place: the first mechanism of
 * the kind is rewritten when its value differs, one is created when the party has none. A phone the shop no
 * longer has is left in the ERP.
 */
export function mechanismChanges(rows: TrytonRow[], c: Customer): unknown[] {
  const commands: unknown[] = [];
  const want: { types: string[]; value: string | undefined; same: (a: string, b: string) => boolean }[] = [
    { types: ["email"], value: c.email, same: (a, b) => a.trim().toLowerCase() === b.trim().toLowerCase() },
    { types: ["phone", "mobile"], value: c.phone, same: (a, b) => a.trim() === b.trim() },
  ];
  for (const w of want) {
    if (!w.value) continue;
    const mine = rows.filter((r) => w.types.includes(String(r.type)));
    if (mine.some((r) => w.same(str(r, "value") ?? "", w.value as string))) continue;
    const first = mine[0];
    if (first) commands.push(["write", [first.id], { value: w.value }]);
    else commands.push(["create", [{ type: w.types[0], value: w.value }]]);
  }
  return commands;
}

function fullName(c: Customer): string {
  return [c.firstName, c.lastName].filter((x) => x && x.length > 0).join(" ") || c.company || c.email;
}

/**
 * party.party by e-mail (an `email` contact mechanism). The customer group selects the party's sale
 * price list (the list named after the group; a group with no list leaves the party's list as it is).
 * Later changes are written in place: name, e-mail and phone (mechanismChanges), and addresses, edited where
 * they were edited, added when new, never deleted (addressChanges). An unchanged customer costs three reads
 * and no write.
 */
export function customerWriter(ctx: TrytonContext): Writer<"customer"> {
  const { client } = ctx;
  return {
    entity: "customer",
    estimateCalls: perRecord({ create: 2, update: 3, perBatch: 2 }),
    /**
     * Archive: the party is deactivated (Tryton's own way: it stays on its sales and invoices). Delete: the
     * party is deleted, which Tryton refuses for a party its documents use. Already done: nothing to do.
     */
    async remove(id, how, signal) {
      const state = (await removedParties(ctx, [id], signal)).get(id);
      if (state === "deleted" || (how === "archive" && state === "archived")) return;
      const what = `party.party.${how === "archive" ? "write" : "delete"} for party ${id}`;
      if (how === "archive") await client.write("party.party", [Number(id)], { active: false }, what, signal);
      else await client.model("party.party", "delete", [[Number(id)]], { what, signal });
    },
    /** Reactivates an archived party (a deleted one cannot come back: the caller creates it again). */
    async restore(id, signal) {
      const state = (await removedParties(ctx, [id], signal)).get(id);
      if (state !== "archived") return;
      await client.write(
        "party.party",
        [Number(id)],
        { active: true },
        `party.party.write for party ${id}`,
        signal,
      );
    },
    findByExternalRef: async (ref, record) => {
      const found = await findPartyByEmail(ctx, record.email || ref);
      return found === null ? null : String(found);
    },
    async upsert(items, wctx) {
      const [countries, lists] = await Promise.all([
        countryIds(ctx, wctx.signal),
        client.searchRead("product.price_list", [], ["name"], { signal: wctx.signal }),
      ]);
      const listOfGroup = new Map(lists.map((l) => [priceListGroup(str(l, "name") ?? "").group, l.id]));
      const results: WriteResult[] = [];
      for (const item of items) {
        const c = item.record;
        const owner = `customer ${c.key}`;
        try {
          const list = c.group ? listOfGroup.get(c.group) : undefined;
          const addresses = c.addresses.map((a) => addressVals(a, countries, owner));
          const existing =
            item.targetId && Number.isInteger(Number(item.targetId))
              ? Number(item.targetId)
              : await findPartyByEmail(ctx, c.email, wctx.signal);
          if (existing === null) {
            const mechanisms = [
              { type: "email", value: c.email },
              ...(c.phone ? [{ type: "phone", value: c.phone }] : []),
            ];
            const [created] = await client.create(
              "party.party",
              [
                {
                  name: fullName(c),
                  ...(list !== undefined ? { sale_price_list: list } : {}),
                  contact_mechanisms: [["create", mechanisms]],
                  ...(addresses.length > 0 ? { addresses: [["create", addresses]] } : {}),
                },
              ],
              `party.party.create for ${owner}`,
              wctx.signal,
            );
            results.push({ key: item.key, ok: true, targetId: String(created), action: "created" });
            continue;
          }
          const [party] = await client.read(
            "party.party",
            [existing],
            ["name", "sale_price_list", "addresses", "contact_mechanisms"],
            { signal: wctx.signal },
          );
          if (!party)
            throw new SyncError("permanent", `${owner}: party.party ${existing} no longer exists in Tryton`, {
              system: ctx.name,
            });
          const [current, mechanisms] = await Promise.all([
            client.read(
              "party.address",
              party.addresses as number[],
              ["street", "city", "postal_code", "country.code"],
              { signal: wctx.signal },
            ),
            client.read("party.contact_mechanism", party.contact_mechanisms as number[], ["type", "value"], {
              signal: wctx.signal,
            }),
          ]);
          const vals: Record<string, unknown> = {};
          if (str(party, "name") !== fullName(c)) vals.name = fullName(c);
          if (list !== undefined && id(party, "sale_price_list") !== list) vals.sale_price_list = list;
          const plan = addressChanges(current, c.addresses);
          const addressCommands = [
            ...plan.edit.map((e) => ["write", [e.id], addresses[e.index]]),
            ...(plan.add.length > 0 ? [["create", plan.add.map((i) => addresses[i])]] : []),
          ];
          if (addressCommands.length > 0) vals.addresses = addressCommands;
          const mechanismCommands = mechanismChanges(mechanisms, c);
          if (mechanismCommands.length > 0) vals.contact_mechanisms = mechanismCommands;
          if (Object.keys(vals).length > 0) {
            await client.write(
              "party.party",
              [existing],
              vals,
              `party.party.write for ${owner}`,
              wctx.signal,
            );
          }
          results.push({
            key: item.key,
            ok: true,
            targetId: String(existing),
            action: Object.keys(vals).length > 0 ? "updated" : "unchanged",
          });
        } catch (err) {
          results.push({ key: item.key, ok: false, error: failure(err, ctx.name) });
        }
      }
      return results;
    },
  };
}
