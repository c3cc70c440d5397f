/**
 * Canonical Invoice → two custom fields of the Vendure order it bills: the invoice number and the
 * document reference (what `passerelle` needs to fetch the PDF from the ERP). Vendure has no invoice
 * entity; custom fields are its own extension point, show in the admin UI and can be exposed to the
 * storefront, and need no file upload. The field names are configurable (`invoiceFields`) and must be
 * declared in the Vendure config (docs/connectors/vendure.md); when they are not, the Admin API refuses
 * the document and the error names the missing field.
 */
import { z } from "zod";
import type { WriteContext, WriteItem, WriteResult, Writer } from "../../../ports/connector.ts";
import { perRecord } from "../../call-estimate.ts";
import type { VendureClient } from "../client.ts";
import type { VendureConfig } from "../config.ts";
import { failed, perItem } from "./results.ts";
import { codeOf, findOrder } from "./shipment.ts";

export function invoiceWriter(
  system: string,
  client: VendureClient,
  config: VendureConfig,
): Writer<"invoice"> {
  const { number: numberField, document: documentField } = config.invoiceFields;
  const fields = `id code customFields { ${numberField} ${documentField} }`;
  const InvoiceOrder = z.object({
    id: z.string(),
    code: z.string(),
    customFields: z.record(z.string(), z.string().nullable()),
  });
  type InvoiceOrder = z.infer<typeof InvoiceOrder>;
  const SET = `mutation SetInvoice($input: UpdateOrderInput!) { setOrderCustomFields(input: $input) { ${fields} } }`;

  const orderOf = (orderKey: string, ctx?: WriteContext) =>
    findOrder(client, InvoiceOrder, fields, orderKey, codeOf(orderKey, orderKey), ctx);
  const targetId = (o: InvoiceOrder, n: string) => `${o.id}/${n}`;

  async function writeOne(item: WriteItem<"invoice">, ctx: WriteContext): Promise<WriteResult> {
    const inv = item.record;
    if (inv.orderKey === undefined) {
      return failed(
        item.key,
        "data",
        `invoice ${inv.number} names no order to attach it to`,
        system,
        "orderKey",
      );
    }
    const order = await orderOf(inv.orderKey, ctx);
    if (order === null) {
      return failed(
        item.key,
        "permanent",
        `no Vendure order for invoice ${inv.number} (order key ${inv.orderKey})`,
        system,
        "orderKey",
      );
    }
    const document = inv.document?.url ?? inv.document?.ref ?? null;
    const had = order.customFields[numberField] ?? null;
    if (had === inv.number && (order.customFields[documentField] ?? null) === document) {
      return { key: item.key, ok: true, targetId: targetId(order, inv.number), action: "unchanged" };
    }
    await client.request(
      SET,
      { input: { id: order.id, customFields: { [numberField]: inv.number, [documentField]: document } } },
      z.object({ setOrderCustomFields: InvoiceOrder.nullable() }),
    );
    return {
      key: item.key,
      ok: true,
      targetId: targetId(order, inv.number),
      action: item.targetId === null ? "created" : "updated",
    };
  }

  return {
    entity: "invoice",
    estimateCalls: perRecord({ create: 2, update: 2 }),
    async upsert(items, ctx) {
      const results: WriteResult[] = [];
      for (const item of items) results.push(await perItem(item.key, system, () => writeOne(item, ctx)));
      return results;
    },
    async findByExternalRef(_ref, record) {
      if (record.orderKey === undefined) return null;
      const order = await orderOf(record.orderKey);
      return order && order.customFields[numberField] === record.number
        ? targetId(order, record.number)
        : null;
    },
  };
}
