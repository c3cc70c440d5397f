/**
 * Product content written back to Tryton: the description only, where a shop or a PIM owns it and the ERP
 * owns everything else (a two-way product flow, see docs/two-way.md). Products are created in the ERP:
 * a product the ERP does not hold (no link, no template with its key) fails with that reason and the rest
 * of the page proceeds. Tryton keeps a description per variant (product.product), the canonical product one
 * for the product: it is written onto every variant of the template, and a template whose variants already
 * say it is "unchanged" without a write. Every other field is left as the ERP has it.
 */
import { SyncError } from "../../../core/errors.ts";
import type { WriteResult, Writer } from "../../../ports/connector.ts";
import { perRecord } from "../../call-estimate.ts";
import { failure, type TrytonContext } from "../context.ts";
import { str } from "../fields.ts";

/** Archived variants too: their description is the product's as well. */
const WITH_ARCHIVED = { active_test: false };

export function productWriter(ctx: TrytonContext): Writer<"product"> {
  const { client } = ctx;
  /** The template holding this product key (its code), or null. */
  async function templateOf(key: string, signal?: AbortSignal): Promise<number | null> {
    const rows = await client.searchRead("product.template", [["code", "=", key]], ["code"], {
      context: WITH_ARCHIVED,
      signal,
    });
    return rows[0]?.id ?? null;
  }
  return {
    entity: "product",
    estimateCalls: perRecord({ create: 1, update: 2, perBatch: 0 }),
    findByExternalRef: async (_ref, record) => {
      const t = await templateOf(record.key);
      return t === null ? null : String(t);
    },
    async upsert(items, wctx) {
      const results: WriteResult[] = [];
      for (const item of items) {
        const p = item.record;
        try {
          const template =
            item.targetId && Number.isInteger(Number(item.targetId))
              ? Number(item.targetId)
              : await templateOf(p.key, wctx.signal);
          if (template === null) {
            throw new SyncError(
              "data",
              `product ${p.key} is not in Tryton, and products are created in the ERP: create it there (code ${p.key}, the shop's SKUs ${p.variants.map((v) => v.sku).join(", ")}) and the next run links them`,
              { system: ctx.name, field: "key" },
            );
          }
          const variants = await client.searchRead(
            "product.product",
            [["template", "=", template]],
            ["description"],
            { context: WITH_ARCHIVED, signal: wctx.signal },
          );
          if (variants.length === 0) {
            throw new SyncError(
              "permanent",
              `product ${p.key}: product.template ${template} has no variants in Tryton (deleted?)`,
              { system: ctx.name },
            );
          }
          const want = p.description ?? "";
          const stale = variants.filter((v) => (str(v, "description") ?? "") !== want).map((v) => v.id);
          if (stale.length > 0) {
            await client.write(
              "product.product",
              stale,
              { description: want === "" ? null : want },
              `product.product.write (description) for product ${p.key}`,
              wctx.signal,
            );
          }
          results.push({
            key: item.key,
            ok: true,
            targetId: String(template),
            action: stale.length > 0 ? "updated" : "unchanged",
          });
        } catch (e) {
          results.push({ key: item.key, ok: false, error: failure(e, ctx.name) });
        }
      }
      return results;
    },
  };
}
