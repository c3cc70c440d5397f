/**
 * Business Central API v2.0's contract as the emulator and the tests hold requests and answers to it: the
 * digest of the 106 standard API pages (specs/business-central/apiv2-entities.json, derived from
 * Microsoft's AL page sources and the v2.0 reference; specs/NOTICE.md names both). Per entity set it gives
 * the key, the fields with their API type and whether they are read-only, the page's insert/modify/delete
 * permissions and its navigation (sub-pages reached as `salesOrders({id})/salesOrderLines`).
 *
 * Checks are strict: a field the page does not expose, a read-only field in a write, a value that is not
 * of the field's type, or a write the page does not allow is a violation.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { specsDir } from "../shopify/schema.ts";

export const BC_DIGEST_FILE = "business-central/apiv2-entities.json";

export function bcDigestPath(): string {
  return join(specsDir(), BC_DIGEST_FILE);
}

export interface BcField {
  name: string;
  /** `GUID`, `string`, `decimal`, `integer`, `int64`, `date`, `datetime`, `boolean`, `NAV.<enum>`, or null when the docs give none. */
  apiType: string | null;
  readOnly: boolean;
}

export interface BcEntity {
  entitySetName: string;
  entityName: string;
  /** The OData key fields as the page declares them (`SystemId` is the API field `id`). */
  keyFields: string[];
  fields: Map<string, BcField>;
  insertAllowed: boolean;
  modifyAllowed: boolean;
  deleteAllowed: boolean;
  /** Navigation property → the entity set it reaches. */
  navigation: Map<string, string>;
}

interface RawField {
  name: string;
  apiType?: string;
  readOnly?: boolean;
}
interface RawEntity {
  entitySetName: string | null;
  entityName: string;
  odataKeyFields?: string[];
  editable?: boolean | null;
  insertAllowed?: boolean | null;
  modifyAllowed?: boolean | null;
  deleteAllowed?: boolean | null;
  navigation?: { name: string; entitySetName: string }[];
  fields: RawField[];
}

/**
 * `subscriptions` (webhooks) is served by the platform at the environment's root (`/api/v2.0/subscriptions`),
 * not by an AL page, so the digest has no entry for it. Its fields as Microsoft's API v2.0 reference gives
 * them (learn.microsoft.com/dynamics365/business-central/dev-itpro/api-reference/v2.0/resources/
 * dynamics_subscriptions, and dynamics-subscriptions "Working with webhooks"): the key `subscriptionId` (a
 * string, assigned by Business Central), `notificationUrl`, `resource` and `clientState` written by the
 * subscriber; the rest read-only.
 */
export const SUBSCRIPTIONS_ENTITY: RawEntity = {
  entitySetName: "subscriptions",
  entityName: "subscription",
  odataKeyFields: ["subscriptionId"],
  fields: [
    { name: "subscriptionId", apiType: "string", readOnly: true },
    { name: "notificationUrl", apiType: "string" },
    { name: "resource", apiType: "string" },
    { name: "timestamp", apiType: "int64", readOnly: true },
    { name: "userId", apiType: "GUID", readOnly: true },
    { name: "lastModifiedDateTime", apiType: "datetime", readOnly: true },
    { name: "clientState", apiType: "string" },
    { name: "expirationDateTime", apiType: "datetime", readOnly: true },
    { name: "systemCreatedAt", apiType: "datetime", readOnly: true },
    { name: "systemCreatedBy", apiType: "GUID", readOnly: true },
    { name: "systemModifiedAt", apiType: "datetime", readOnly: true },
    { name: "systemModifiedBy", apiType: "GUID", readOnly: true },
  ],
};

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;

export class BcDigest {
  readonly entities = new Map<string, BcEntity>();
  /** The digest's own count of pages (106 for API v2.0). */
  readonly pages: number;

  constructor(json: { entities: RawEntity[]; builtInEntities: RawEntity[] }) {
    this.pages = json.entities.length;
    for (const e of [...json.entities, ...json.builtInEntities, SUBSCRIPTIONS_ENTITY]) {
      if (!e.entitySetName) continue;
      const editable = e.editable !== false;
      this.entities.set(e.entitySetName, {
        entitySetName: e.entitySetName,
        entityName: e.entityName,
        keyFields: e.odataKeyFields ?? ["SystemId"],
        fields: new Map(
          e.fields.map((f) => [
            f.name,
            { name: f.name, apiType: f.apiType ?? null, readOnly: f.readOnly === true || !editable },
          ]),
        ),
        insertAllowed: editable && e.insertAllowed !== false,
        modifyAllowed: editable && e.modifyAllowed !== false,
        deleteAllowed: editable && e.deleteAllowed !== false,
        navigation: new Map((e.navigation ?? []).map((n) => [n.name, n.entitySetName])),
      });
    }
  }

  entity(set: string): BcEntity | undefined {
    return this.entities.get(set);
  }

  /** Problems of one value against a field's API type. */
  checkValue(where: string, field: BcField, v: unknown): string[] {
    if (v === null) return [];
    const bad = (what: string) => [
      `${where}: ${field.name} is ${field.apiType}, got ${JSON.stringify(v)} (${what})`,
    ];
    const t = field.apiType;
    if (t === null) return [];
    // A stream (pdfDocumentContent) is read as media through its own URL, never inline in JSON.
    if (t === "stream") return bad("a stream is read as media, not inline");
    if (t === "GUID") return typeof v === "string" && GUID.test(v) ? [] : bad("not a GUID");
    if (t === "string" || t.startsWith("NAV.")) return typeof v === "string" ? [] : bad("not a string");
    if (t === "decimal") return typeof v === "number" && Number.isFinite(v) ? [] : bad("not a number");
    if (t === "integer" || t === "int64") return Number.isInteger(v) ? [] : bad("not an integer");
    if (t === "boolean") return typeof v === "boolean" ? [] : bad("not a boolean");
    if (t === "date") return typeof v === "string" && DATE.test(v) ? [] : bad("not a date");
    if (t === "datetime") return typeof v === "string" && DATETIME.test(v) ? [] : bad("not a date-time");
    return [];
  }

  /**
   * A request body of a write to `set`: every property a field of the page, writable, of its type; a
   * navigation property (deep insert) is checked against its own page.
   */
  checkWrite(where: string, set: string, body: unknown, method: "POST" | "PATCH"): string[] {
    const e = this.entity(set);
    if (!e) return [`${where}: API v2.0 has no entity set ${set}`];
    if (typeof body !== "object" || body === null || Array.isArray(body))
      return [`${where}: not a JSON object`];
    if (method === "POST" && !e.insertAllowed) return [`${where}: ${set} does not allow inserts`];
    if (method === "PATCH" && !e.modifyAllowed) return [`${where}: ${set} does not allow modifications`];
    const out: string[] = [];
    for (const [k, v] of Object.entries(body)) {
      const nav = e.navigation.get(k);
      if (nav && method === "POST" && Array.isArray(v)) {
        v.forEach((row, i) => {
          out.push(...this.checkWrite(`${where}.${k}[${i}]`, nav, row, "POST"));
        });
        continue;
      }
      const f = e.fields.get(k);
      if (!f) out.push(`${where}: ${set} has no field ${k}`);
      else if (f.readOnly) out.push(`${where}: ${set}.${k} is read-only`);
      else out.push(...this.checkValue(where, f, v));
    }
    return out;
  }

  /** An entity in an answer: every property a field of the page (or an annotation, or an expanded navigation), of its type. */
  checkAnswer(where: string, set: string, row: unknown): string[] {
    const e = this.entity(set);
    if (!e) return [`${where}: API v2.0 has no entity set ${set}`];
    if (typeof row !== "object" || row === null) return [`${where}: not a JSON object`];
    const out: string[] = [];
    for (const [k, v] of Object.entries(row)) {
      if (k.startsWith("@odata.")) continue;
      // An annotation of one field (`pdfDocumentContent@odata.mediaReadLink`): the field must be the page's,
      // and a media link only annotates a stream.
      const at = k.indexOf("@odata.");
      if (at > 0) {
        const f = e.fields.get(k.slice(0, at));
        if (!f) out.push(`${where}: ${set} has no field ${k.slice(0, at)} (annotated ${k})`);
        else if (/@odata\.media/.test(k) && f.apiType !== "stream")
          out.push(`${where}: ${k} annotates a field that is not a stream`);
        else if (typeof v !== "string") out.push(`${where}: ${k} is not a string`);
        continue;
      }
      const nav = e.navigation.get(k);
      if (nav) {
        if (!Array.isArray(v)) out.push(`${where}: ${k} is expanded as an array`);
        else {
          v.forEach((r, i) => {
            out.push(...this.checkAnswer(`${where}.${k}[${i}]`, nav, r));
          });
        }
        continue;
      }
      const f = e.fields.get(k);
      if (!f) out.push(`${where}: ${set} has no field ${k}`);
      else out.push(...this.checkValue(where, f, v));
    }
    return out;
  }

  /** Field names of `$select` / `$orderby` / `$filter`, each one the page exposes. */
  checkFields(where: string, set: string, names: readonly string[]): string[] {
    const e = this.entity(set);
    if (!e) return [`${where}: API v2.0 has no entity set ${set}`];
    return names.filter((n) => !e.fields.has(n)).map((n) => `${where}: ${set} has no field ${n}`);
  }
}

let cached: BcDigest | null = null;

/** The digest, read once. */
export function bcDigest(): BcDigest {
  cached ??= new BcDigest(JSON.parse(readFileSync(bcDigestPath(), "utf8")));
  return cached;
}
