/** Partner (res.partner) helpers shared by the customer, order and invoice streams and the writers. */
import type { Address } from "../../core/model.ts";
import type { OdooRow } from "./client.ts";
import type { OdooContext } from "./context.ts";
import { bool, many2one, str } from "./fields.ts";

export const ADDRESS_FIELDS = [
  "name",
  "street",
  "street2",
  "city",
  "zip",
  "country_id",
  "phone",
  "type",
  "parent_id",
];

/**
 * A company's buyers: its child partners of type "contact" (people ordering on the company's account),
 * which Odoo gives the company's pricelist, payment terms and invoice address (commercial fields). A domain
 * fragment in prefix notation.
 */
export const BUYER = ["&", ["type", "=", "contact"], ["parent_id.is_company", "=", true]];

/** Country id → ISO code. Countries are a small, stable table: one call per page is plenty. */
export async function countryCodes(ctx: OdooContext, signal?: AbortSignal): Promise<Map<number, string>> {
  const rows = await ctx.client.searchRead("res.country", [], ["code"], { signal });
  return new Map(rows.flatMap((r) => (str(r, "code") ? [[r.id, String(str(r, "code"))] as const] : [])));
}

const TYPES: Record<string, Address["type"]> = { invoice: "billing", delivery: "shipping" };

/** The partner's postal address, or undefined when it lacks a street, city or known country. */
export function addressOf(
  row: OdooRow,
  countries: Map<number, string>,
  opts: { company?: string; type?: Address["type"] } = {},
): Address | undefined {
  const line1 = str(row, "street");
  const city = str(row, "city");
  const countryId = many2one(row, "country_id")?.id;
  const country = countryId === undefined ? undefined : countries.get(countryId);
  if (!line1 || !city || !country) return undefined;
  return {
    type: opts.type ?? TYPES[str(row, "type") ?? ""] ?? "both",
    name: str(row, "name"),
    company: opts.company,
    line1,
    line2: str(row, "street2"),
    city,
    postalCode: str(row, "zip"),
    country,
    phone: str(row, "phone"),
  };
}

/** A person's name split at its last space: "Anna de Vries" → Anna / de Vries is wrong, but rarely worse. */
export function splitName(name: string, isCompany: boolean): { firstName?: string; lastName: string } {
  const trimmed = name.trim();
  if (isCompany) return { lastName: trimmed };
  const i = trimmed.indexOf(" ");
  return i > 0 ? { firstName: trimmed.slice(0, i), lastName: trimmed.slice(i + 1) } : { lastName: trimmed };
}

export function isCompany(row: OdooRow): boolean {
  return bool(row, "is_company");
}
