import { SyncError } from "../../../core/errors.ts";
import type { Category } from "../../../core/model.ts";
import type { Stream } from "../../../ports/connector.ts";
import type { Domain, TrytonRow } from "../client.ts";
import { latest } from "../codec.ts";
import type { TrytonContext } from "../context.ts";
import { id, str } from "../fields.ts";
import { changedRecords, recordOfKey } from "../paging.ts";

export interface CategoryNative {
  category: TrytonRow;
  /** Language code → the name in that language, for each translatable language other than the user's. */
  names: Record<string, string>;
  changedAt: string;
}

const FIELDS = ["name", "parent", "write_date", "create_date"];

/**
 * product.category as the category tree. Tryton gives a category no code, so its key is its record id: a
 * rename or a move keeps it, which is what makes the shop rename or move the same category. Tryton keeps
 * no order among siblings (it lists them by name), so `position` is left out and the shop keeps its own.
 * Accounting categories (account_product: they carry taxes and accounts) are not catalogue and are left out.
 * The name is translatable: each language set translatable in Tryton (ir.lang) other than the user's is
 * read in that language, and a name that differs from the default one is a translation (Tryton answers
 * the default name for a language with none).
 */
export function categoryStream(ctx: TrytonContext): Stream<"category", CategoryNative> {
  const { client } = ctx;
  // With account_product installed, accounting categories (taxes, accounts) share the model: not catalogue.
  let domain: Promise<Domain> | null = null;
  const catalogue = (signal?: AbortSignal): Promise<Domain> => {
    domain ??= client
      .model("product.category", "fields_get", [["accounting"]], { signal })
      .then(
        (f): Domain =>
          f !== null && typeof f === "object" && "accounting" in f ? [["accounting", "=", false]] : [],
      )
      .catch((err) => {
        domain = null;
        throw err;
      });
    return domain;
  };
  const load = async (ids: number[], signal?: AbortSignal): Promise<Map<number, CategoryNative>> => {
    const [rows, langs] = await Promise.all([
      catalogue(signal).then((only) =>
        client.searchRead("product.category", [["id", "in", ids], ...only], FIELDS, { signal }),
      ),
      ctx.otherLanguages(signal),
    ]);
    const translated = await Promise.all(
      langs.map(async (lang) => {
        const named = await client.searchRead("product.category", [["id", "in", ids]], ["name"], {
          context: { language: lang },
          signal,
        });
        return [lang, new Map(named.map((r) => [r.id, str(r, "name")]))] as const;
      }),
    );
    const out = new Map<number, CategoryNative>();
    for (const category of rows) {
      const names: Record<string, string> = {};
      for (const [lang, byId] of translated) {
        const name = byId.get(category.id);
        if (name !== undefined && name !== str(category, "name")) names[lang] = name;
      }
      out.set(category.id, {
        category,
        names,
        changedAt: latest(category.write_date, category.create_date) ?? "1970-01-01T00:00:00.000Z",
      });
    }
    return out;
  };
  return {
    entity: "category",
    sorted: true,
    async *list(req) {
      const only = await catalogue(req.signal);
      yield* changedRecords(
        client,
        [{ model: "product.category", domain: only, fields: [], parentsOf: (r) => [r.id] }],
        req,
        load,
      );
    },
    get: (key) => recordOfKey(key, load),
    idOf: (n) => String(n.category.id),
    updatedAtOf: (n) => n.changedAt,
    toCanonical(n): Category {
      const c = n.category;
      const name = str(c, "name");
      if (!name) {
        throw new SyncError("data", `product.category ${c.id} has no name`, {
          system: ctx.name,
          field: "name",
        });
      }
      const parent = id(c, "parent");
      return {
        source: ctx.name,
        sourceId: String(c.id),
        updatedAt: n.changedAt,
        key: String(c.id),
        name,
        ...(parent !== undefined ? { parent: String(parent) } : {}),
        translations: n.names,
      };
    },
  };
}
