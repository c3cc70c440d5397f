/**
 * What the streams and writers look up in PrestaShop: the small reference tables (customer groups,
 * currencies, countries, order states, product options and their values), each read once per connection,
 * and products and combinations by reference (SKU), read fresh for every batch, 50 references per call.
 */
import { SyncError } from "../../core/errors.ts";
import { langText, type PrestaShopClient, UNFILTERABLE } from "./client.ts";
import {
  PsCombination,
  PsCountry,
  PsCurrency,
  PsNamed,
  PsOption,
  PsOptionValue,
  PsOrderState,
  PsProduct,
} from "./native.ts";

export const SKU_CHUNK = 50;

type Loaded<T> = Promise<T[]> | null;

export class PrestaShopLookups {
  #groups: Loaded<{ id: number; name: string }> = null;
  #currencies: Loaded<{ id: number; iso: string }> = null;
  #countries: Loaded<{ id: number; iso: string }> = null;
  #states: Loaded<PsOrderState> = null;
  /** Attribute groups (product options) by lower-cased name, with their values by lower-cased name. */
  readonly #options = new Map<string, { id: number; values: Map<string, number> }>();
  #optionsLoaded: Promise<void> | null = null;

  constructor(private readonly client: PrestaShopClient) {}

  #lang = (v: Parameters<typeof langText>[0]) => langText(v, this.client.config.languageId);

  #once<T>(get: () => Loaded<T>, set: (p: Loaded<T>) => void, load: () => Promise<T[]>): Promise<T[]> {
    let p = get();
    if (!p) {
      p = load().catch((err: unknown) => {
        set(null);
        throw err;
      });
      set(p);
    }
    return p;
  }

  groups() {
    return this.#once(
      () => this.#groups,
      (p) => {
        this.#groups = p;
      },
      async () =>
        (await this.client.list("groups", "display=full", PsNamed, "customer groups")).map((g) => ({
          id: g.id,
          name: this.#lang(g.name),
        })),
    );
  }

  async groupName(id: number): Promise<string | undefined> {
    return (await this.groups()).find((g) => g.id === id)?.name;
  }

  /** The group a canonical customer group is (groupMap, else the name matched case-insensitively). */
  async groupFor(group: string): Promise<{ id: number; name: string } | null> {
    const wanted = (this.client.config.groupMap?.[group] ?? group).toLowerCase();
    return (await this.groups()).find((g) => g.name.toLowerCase() === wanted) ?? null;
  }

  currencies() {
    return this.#once(
      () => this.#currencies,
      (p) => {
        this.#currencies = p;
      },
      async () =>
        (await this.client.list("currencies", "display=[id,iso_code]", PsCurrency, "currencies")).map(
          (c) => ({
            id: c.id,
            iso: c.iso_code.toUpperCase(),
          }),
        ),
    );
  }

  countries() {
    return this.#once(
      () => this.#countries,
      (p) => {
        this.#countries = p;
      },
      async () =>
        (await this.client.list("countries", "display=[id,iso_code]", PsCountry, "countries")).map((c) => ({
          id: c.id,
          iso: c.iso_code.toUpperCase(),
        })),
    );
  }

  states() {
    return this.#once(
      () => this.#states,
      (p) => {
        this.#states = p;
      },
      () => this.client.list("order_states", "display=full", PsOrderState, "order states"),
    );
  }

  get loaded(): boolean {
    return this.#groups !== null || this.#currencies !== null;
  }

  /** Products and combinations holding these references, by reference. */
  async bySku(skus: readonly string[]): Promise<{
    products: Map<string, PsProduct>;
    combinations: Map<string, PsCombination>;
  }> {
    const products = new Map<string, PsProduct>();
    const combinations = new Map<string, PsCombination>();
    const wanted = [...new Set(skus)].filter((s) => s !== "");
    for (const s of wanted)
      if (UNFILTERABLE.test(s))
        throw new SyncError(
          "data",
          `SKU ${JSON.stringify(s)} holds | , [ ] or %, which a PrestaShop filter cannot express`,
          {
            system: this.client.name,
            field: "sku",
          },
        );
    for (let i = 0; i < wanted.length; i += SKU_CHUNK) {
      const chunk = wanted.slice(i, i + SKU_CHUNK);
      const filter = `filter[reference]=${encodeURIComponent(`[${chunk.join("|")}]`)}`;
      for (const p of await this.client.list(
        "products",
        `display=full&${filter}`,
        PsProduct,
        "products by reference",
      ))
        if (chunk.includes(p.reference)) products.set(p.reference, p);
      for (const c of await this.client.list(
        "combinations",
        `display=full&${filter}`,
        PsCombination,
        "combinations by reference",
      ))
        if (chunk.includes(c.reference)) combinations.set(c.reference, c);
    }
    return { products, combinations };
  }

  async #loadOptions(): Promise<void> {
    this.#optionsLoaded ??= (async () => {
      const groups = await this.client.list("product_options", "display=full", PsOption, "product options");
      const values = await this.client.list(
        "product_option_values",
        "display=full",
        PsOptionValue,
        "option values",
      );
      for (const g of groups) {
        const vals = new Map<string, number>();
        for (const v of values)
          if (v.id_attribute_group === g.id) vals.set(this.#lang(v.name).toLowerCase(), v.id);
        this.#options.set(this.#lang(g.name).toLowerCase(), { id: g.id, values: vals });
      }
    })().catch((err: unknown) => {
      this.#optionsLoaded = null;
      throw err;
    });
    return this.#optionsLoaded;
  }

  /** The product_option_value id of `option: value`, creating the option (a select) and the value as needed. */
  async optionValue(option: string, value: string): Promise<number> {
    await this.#loadOptions();
    const lang = this.client.config.languageId;
    let group = this.#options.get(option.toLowerCase());
    if (!group) {
      const made = await this.client.write(
        "POST",
        "product_options",
        "product_option",
        {
          fields: {
            group_type: "select",
            name: { lang: { [lang]: option } },
            public_name: { lang: { [lang]: option } },
          },
        },
        "product option create",
      );
      group = { id: Number(made.id), values: new Map() };
      this.#options.set(option.toLowerCase(), group);
    }
    const known = group.values.get(value.toLowerCase());
    if (known !== undefined) return known;
    const made = await this.client.write(
      "POST",
      "product_option_values",
      "product_option_value",
      { fields: { id_attribute_group: group.id, name: { lang: { [lang]: value } } } },
      "option value create",
    );
    group.values.set(value.toLowerCase(), Number(made.id));
    return Number(made.id);
  }
}
