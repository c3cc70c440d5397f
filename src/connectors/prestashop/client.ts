/**
 * The PrestaShop Webservice client (over the shared HTTP client, so every try passes the connection's
 * governor): the webservice key as the HTTP Basic user with an empty password, reads as JSON
 * (`output_format=JSON`; an empty list comes back as `[]`, not as an object), writes as XML documents built
 * with fast-xml-parser, whose text is entity-escaped (a product named `Nuts & Bolts <XL> "Pro"` arrives as
 * written), and answers to writes read back from XML. PrestaShop publishes no rate limit: a 429 a proxy in
 * front of the shop may send is a rate_limited error with its Retry-After, which the engine waits out.
 */
import { XMLBuilder, XMLParser } from "fast-xml-parser";
import { z } from "zod";
import { SyncError } from "../../core/errors.ts";
import { createHttpClient, type HttpClient } from "../http/client.ts";
import { apiBase, type PrestaShopConfig } from "./config.ts";

/** A language-keyed value as the Webservice renders it in JSON: one entry per language. */
export const LangField = z.union([
  z.array(z.object({ id: z.union([z.string(), z.number()]), value: z.string().nullish() }).loose()),
  z.string(),
]);
export type LangField = z.infer<typeof LangField>;

/** A record to write: scalars, language-keyed values ({ lang: {id: text} }) and associations. */
export type XmlValue = string | number | { lang: Record<number, string> };
export interface XmlRecord {
  id?: number | string;
  fields: Record<string, XmlValue>;
  associations?: Record<string, { item: string; rows: Record<string, string | number>[] }>;
}

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  processEntities: true,
  suppressEmptyNode: false,
});

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  parseTagValue: false,
  processEntities: true,
  htmlEntities: false,
  isArray: (name) => name === "language" || name === "error",
});

/** The XML document PrestaShop takes for a write: `<prestashop><element>…</element></prestashop>`. */
export function toXml(element: string, rec: XmlRecord): string {
  const node: Record<string, unknown> = {};
  if (rec.id !== undefined) node.id = String(rec.id);
  for (const [k, v] of Object.entries(rec.fields)) {
    node[k] =
      typeof v === "object"
        ? { language: Object.entries(v.lang).map(([id, t]) => ({ "@_id": id, "#text": t })) }
        : String(v);
  }
  if (rec.associations) {
    node.associations = Object.fromEntries(
      Object.entries(rec.associations).map(([name, a]) => [
        name,
        {
          [a.item]: a.rows.map((r) => Object.fromEntries(Object.entries(r).map(([f, x]) => [f, String(x)]))),
        },
      ]),
    );
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build({
    prestashop: { "@_xmlns:xlink": "http://www.w3.org/1999/xlink", [element]: node },
  })}`;
}

const textOf = (v: unknown): string =>
  v === undefined || v === null
    ? ""
    : typeof v === "object"
      ? String((v as Record<string, unknown>)["#text"] ?? "")
      : String(v);

/** The scalar fields of the element a write answered with (`id`, `date_upd`, …). */
export function fromXml(xml: string, element: string): Record<string, string> {
  const doc = parser.parse(xml) as { prestashop?: Record<string, unknown> };
  const node = doc.prestashop?.[element];
  if (!node || typeof node !== "object") return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(node as Record<string, unknown>))
    if (
      !k.startsWith("@_") &&
      (typeof v !== "object" ||
        v === null ||
        "#text" in (v as object) ||
        Object.keys(v as object).length === 0)
    )
      out[k] = textOf(v);
  return out;
}

/** What PrestaShop said in an error body (XML `<errors><error><message>` or JSON `{errors:[{message}]}`). */
export function prestashopMessage(body: unknown): string | null {
  if (typeof body !== "string" || body.trim() === "") return null;
  const t = body.trim();
  try {
    if (t.startsWith("{")) {
      const j = JSON.parse(t) as { errors?: { message?: string }[] };
      const m = (j.errors ?? []).map((e) => e.message).filter((x): x is string => typeof x === "string");
      return m.length > 0 ? m.join("; ") : null;
    }
    const doc = parser.parse(t) as { prestashop?: { errors?: { error?: { message?: unknown }[] } } };
    const m = (doc.prestashop?.errors?.error ?? []).map((e) => textOf(e.message)).filter((x) => x !== "");
    return m.length > 0 ? m.join("; ") : null;
  } catch {
    return null;
  }
}

/** A SyncError whose message also says what PrestaShop said. */
export function explained(err: unknown): unknown {
  if (!(err instanceof SyncError)) return err;
  const said = prestashopMessage(err.details.vendorBody);
  if (!said || err.message.includes(said)) return err;
  return new SyncError(err.kind, `${err.message}: ${said}`, err.details);
}

/** A language-keyed value in the connection's language (the first given when that one is absent). */
export function langText(v: LangField | null | undefined, languageId: number): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "string") return v;
  return (v.find((l) => String(l.id) === String(languageId)) ?? v[0])?.value ?? "";
}

/** PrestaShop's `YYYY-MM-DD HH:MM:SS` (the shop's clock, read as UTC) as ISO 8601, and back. */
export const toIso = (t: string): string => `${t.replace(" ", "T")}Z`;
export const fromIso = (iso: string): string => new Date(iso).toISOString().slice(0, 19).replace("T", " ");

/** Values a filter cannot hold: PrestaShop reads `|` and `,` inside `[...]` as its operators. */
export const UNFILTERABLE = /[|,[\]%]/;

export class PrestaShopClient {
  readonly http: HttpClient;
  /** Calls that change data. */
  writes = 0;

  constructor(
    readonly name: string,
    readonly config: PrestaShopConfig,
    fetchApi: typeof fetch = fetch,
  ) {
    const basic = Buffer.from(`${config.key}:`, "utf8").toString("base64");
    this.http = createHttpClient({
      system: name,
      vendor: "PrestaShop",
      baseUrl: apiBase(config),
      timeoutMs: config.timeoutMs,
      auth: { headers: () => ({ authorization: `Basic ${basic}` }) },
      redact: [config.key, basic],
      fetch: fetchApi,
    });
  }

  get calls(): number {
    return this.http.stats().calls;
  }

  /** A list read: `resource?query&output_format=JSON`, `[]` (PrestaShop's empty list) as no rows. */
  async list<T>(resource: string, query: string, item: z.ZodType<T>, what: string): Promise<T[]> {
    const res = await this.http.send("GET", `${resource}?${query}${query ? "&" : ""}output_format=JSON`, {
      headers: { accept: "application/json" },
      what,
    });
    const body = this.#json(res.text(), what);
    if (Array.isArray(body)) {
      if (body.length === 0) return [];
      throw this.#shape(what, "a list where an object was expected");
    }
    const parsed = z.object({ [resource]: z.array(item) }).safeParse(body);
    if (!parsed.success) throw this.#shape(what, parsed.error.message);
    return (parsed.data as Record<string, T[]>)[resource] ?? [];
  }

  /** One record by id; null when PrestaShop has none (404). */
  async one<T>(
    resource: string,
    element: string,
    id: string | number,
    item: z.ZodType<T>,
    what: string,
  ): Promise<T | null> {
    const res = await this.http.send("GET", `${resource}/${id}?output_format=JSON`, {
      headers: { accept: "application/json" },
      accept: (s) => (s >= 200 && s < 300) || s === 404,
      what,
    });
    if (res.status === 404) return null;
    const parsed = z.object({ [element]: item }).safeParse(this.#json(res.text(), what));
    if (!parsed.success) throw this.#shape(what, parsed.error.message);
    return (parsed.data as Record<string, T>)[element] ?? null;
  }

  /** A write of one XML document; returns the scalar fields of the record PrestaShop answers with. */
  async write(
    method: "POST" | "PUT" | "PATCH",
    resource: string,
    element: string,
    rec: XmlRecord,
    what: string,
  ): Promise<Record<string, string>> {
    this.writes++;
    const path = method === "POST" ? resource : `${resource}/${rec.id}`;
    try {
      const res = await this.http.send(method, path, {
        body: toXml(element, rec),
        headers: { "content-type": "text/xml; charset=utf-8", accept: "text/xml" },
        what,
      });
      return fromXml(res.text(), element);
    } catch (err) {
      throw explained(err);
    }
  }

  /** Deletes one record; one already gone is no error. */
  async remove(resource: string, id: number | string, what: string): Promise<void> {
    this.writes++;
    try {
      await this.http.send("DELETE", `${resource}/${id}`, {
        what,
        accept: (s) => (s >= 200 && s < 300) || s === 404,
      });
    } catch (err) {
      throw explained(err);
    }
  }

  #json(text: string, what: string): unknown {
    try {
      return JSON.parse(text);
    } catch {
      throw new SyncError("retryable", `PrestaShop answered ${what} with something that is not JSON`, {
        system: this.name,
      });
    }
  }

  #shape(what: string, detail: string): SyncError {
    return new SyncError("permanent", `PrestaShop's answer to ${what} has an unexpected shape: ${detail}`, {
      system: this.name,
    });
  }
}
