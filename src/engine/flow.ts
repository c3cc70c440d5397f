import type { BackorderPolicy } from "../core/kit.ts";
import type { ConflictPolicy, DeletePolicy, Ownership } from "../core/merge.ts";
import type { EntityName } from "../core/model.ts";
import type { Connector } from "../ports/connector.ts";
import type { RetryPolicy } from "./retry.ts";

/** A flow resolved from the configuration: connectors created, mapping and filter compiled. */
export interface Flow {
  name: string;
  /** The canonical entity the flow moves (source and target entity are the same canonical entity). */
  entity: EntityName;
  source: Connector;
  target: Connector;
  /** Compiled flow mapping: canonical record in, canonical record out. */
  mapping?: { apply(record: unknown): unknown };
  /** Records for which this returns false are read but not written. */
  filter?: (record: unknown) => boolean | Promise<boolean>;
  batchSize: number;
  /**
   * A product flow whose target a category flow writes to: the products' `categories` are kept and linked.
   * Otherwise (the default, and every flow built without a configuration) they are dropped before the
   * record is hashed and written, so the target is neither asked to link categories it will never hold nor
   * are the products' hashes moved by a field it ignores (runtime/context.ts sets it).
   */
  linkCategories?: boolean;
  /**
   * Inventory flows: whether an item out of stock with a restock date is sold meanwhile (core/kit.ts
   * restockOf); absent is `deny`.
   */
  backorders?: BackorderPolicy;
  /** Prices of 0 may be published (free items); otherwise a record carrying one fails with the reason. */
  allowFreeItems?: boolean;
  /**
   * Invoice and shipment flows with `documentLinks`: the signed link to a document ref, valid for a set time
   * from `from` (the invoice's or shipment's date), so the same record always gets the same link.
   */
  documentLink?: (ref: string, from: Date) => string;
  /**
   * How calls to either system are retried: the configuration's top-level `retry` with the flow's own over
   * it (`retryPolicyFor`). Every run of the flow uses it unless its caller passes another; absent (flows
   * built by hand in tests), the engine's DEFAULT_RETRY.
   */
  retry?: RetryPolicy;
  /**
   * Present on a two-way flow (see two-way.ts): `source` is side `a`, `target` side `b`; `ownership` maps a
   * canonical field to the side owning it.
   */
  twoWay?: { ownership: Ownership; conflict: ConflictPolicy; deletes: DeletePolicy };
}
