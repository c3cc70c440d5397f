/**
 * What the writers and streams look up in Magento and keep for the connection: customer groups (id ↔
 * code), MSI sources, configurable attributes with their option ids; and products by SKU, read fresh for
 * every batch (one search per chunk of SKUs, global scope).
 */
import { z } from "zod";
import { SyncError } from "../../core/errors.ts";
import { type MagentoClient, searchCriteria } from "./client.ts";
import { MagentoProduct, SearchResult } from "./native.ts";

/** SKUs per `sku in (...)` search. */
export const SKU_CHUNK = 50;

const Group = z.object({ id: z.number().int(), code: z.string() });
const Source = z.object({ source_code: z.string(), enabled: z.boolean().nullish() });
const Attribute = z.object({ attribute_id: z.number().int(), attribute_code: z.string() });
const Option = z.object({ label: z.string(), value: z.string() });

export class MagentoLookups {
  #groups: Promise<z.infer<typeof Group>[]> | null = null;
  #sources: Promise<Set<string>> | null = null;
  readonly #attributes = new Map<string, { id: number; options: Map<string, number> } | null>();

  constructor(private readonly client: MagentoClient) {}

  get groupsLoaded(): boolean {
    return this.#groups !== null;
  }

  #allGroups() {
    this.#groups ??= this.client
      .get("all", `/customerGroups/search?${searchCriteria({})}`, SearchResult(Group), "customer groups")
      .then((r) => r.items)
      .catch((err: unknown) => {
        this.#groups = null;
        throw err;
      });
    return this.#groups;
  }

  async groupCode(id: number): Promise<string | undefined> {
    return (await this.#allGroups()).find((g) => g.id === id)?.code;
  }

  /** The Magento group code for a canonical group (groupMap, else the code matched case-insensitively). */
  async groupFor(group: string): Promise<string | null> {
    const wanted = (this.client.config.groupMap?.[group] ?? group).toLowerCase();
    if (wanted === "all groups") return "ALL GROUPS";
    return (await this.#allGroups()).find((g) => g.code.toLowerCase() === wanted)?.code ?? null;
  }

  async sourceExists(code: string): Promise<boolean> {
    this.#sources ??= this.client
      .get("all", `/inventory/sources?${searchCriteria({})}`, SearchResult(Source), "sources")
      .then((r) => new Set(r.items.map((s) => s.source_code)))
      .catch((err: unknown) => {
        this.#sources = null;
        throw err;
      });
    return (await this.#sources).has(code);
  }

  /** Products by SKU, as the global scope holds them. */
  async products(skus: readonly string[]): Promise<Map<string, MagentoProduct>> {
    const found = new Map<string, MagentoProduct>();
    const wanted = [...new Set(skus)];
    for (let i = 0; i < wanted.length; i += SKU_CHUNK) {
      const chunk = wanted.slice(i, i + SKU_CHUNK);
      const r = await this.client.get(
        "all",
        `/products?${searchCriteria({ groups: [[{ field: "sku", value: chunk.join(","), conditionType: "in" }]] })}`,
        SearchResult(MagentoProduct),
        "products by SKU",
      );
      for (const p of r.items) if (chunk.includes(p.sku)) found.set(p.sku, p);
    }
    return found;
  }

  /**
   * A configurable attribute's id and the option id of each label, adding the labels it lacks. The
   * attribute itself must exist (a global dropdown, created by the merchant): a data error says which.
   */
  async attribute(
    code: string,
    labels: readonly string[],
  ): Promise<{ id: number; options: Map<string, number> }> {
    let a = this.#attributes.get(code);
    if (a === undefined) {
      const got = await this.client.find(
        "all",
        `/products/attributes/${encodeURIComponent(code)}`,
        Attribute,
        "attribute",
      );
      if (got) {
        const options = await this.client.get(
          "all",
          `/products/attributes/${encodeURIComponent(code)}/options`,
          z.array(Option),
          "attribute options",
        );
        a = {
          id: got.attribute_id,
          options: new Map(options.filter((o) => o.value !== "").map((o) => [o.label, Number(o.value)])),
        };
      } else a = null;
      this.#attributes.set(code, a);
    }
    if (!a) {
      throw new SyncError(
        "data",
        `Magento has no product attribute ${JSON.stringify(code)}: a configurable product needs a global dropdown attribute per option (create it, or map the option name in attributeMap)`,
        { system: this.client.name, field: "attributeMap" },
      );
    }
    for (const label of labels) {
      if (a.options.has(label)) continue;
      const made = await this.client.write(
        "POST",
        "all",
        `/products/attributes/${encodeURIComponent(code)}/options`,
        { option: { label, value: "" } },
        z.string(),
        "attribute option",
      );
      const id = /(\d+)$/.exec(made)?.[1];
      if (!id)
        throw new SyncError(
          "permanent",
          `Magento answered ${JSON.stringify(made)} for a new option of ${code}`,
          { system: this.client.name },
        );
      a.options.set(label, Number(id));
    }
    return a;
  }
}
