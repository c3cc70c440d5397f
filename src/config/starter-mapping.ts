/**
 * A starter mapping for a discovered record shape: each canonical field of the entity matched to the
 * source field whose name says the same thing (`item_code`, `Artikelnummer` and `SKU` all say `sku`), so
 * `passerelle discover` can print the `fields:` block a user edits instead of writing it from nothing.
 * Matching is by name only; a field the names cannot settle is listed as missing rather than guessed.
 */
import { ENTITIES, type EntityName, PROVENANCE_FIELDS } from "../core/model.ts";
import type { DiscoveredField, DiscoveredShape } from "../ports/discovery.ts";
import { type CanonicalField, canonicalFields } from "./mapping-fields.ts";

export { type CanonicalField, canonicalFields };

/**
 * Other names systems give a canonical field, by the field's last segment (or its whole path where the
 * last segment alone is too vague). Compared after normalising: lower case, accents and separators gone.
 */
const SYNONYMS: Record<string, string[]> = {
  sku: [
    "sku",
    "itemcode",
    "itemno",
    "itemnumber",
    "articlenumber",
    "artikelnummer",
    "productcode",
    "defaultcode",
    "reference",
    "ref",
    "code",
    "partnumber",
    "articleno",
  ],
  title: ["title", "name", "productname", "itemname", "description1", "bezeichnung", "designation", "label"],
  description: ["description", "longdescription", "body", "bodyhtml", "beschreibung"],
  vendor: ["vendor", "brand", "manufacturer", "hersteller"],
  barcode: ["barcode", "ean", "ean13", "gtin", "upc"],
  price: ["price", "unitprice", "listprice", "salesprice", "saleprice", "amount", "preis", "prix"],
  compareAtPrice: ["compareatprice", "msrp", "rrp", "oldprice"],
  weightGrams: ["weightgrams", "weight", "gewicht", "poids"],
  currency: ["currency", "currencycode", "curr", "wahrung", "devise"],
  onHand: ["onhand", "quantity", "qty", "qtyonhand", "stock", "quantityonhand", "bestand", "instock"],
  reserved: ["reserved", "qtyreserved", "allocated", "committed"],
  safetyStock: ["safetystock", "minstock"],
  location: ["location", "warehouse", "warehousecode", "whs", "whscode", "lager", "store"],
  email: ["email", "emailaddress", "mail", "eMail"],
  firstName: ["firstname", "givenname", "forename", "vorname", "prenom"],
  lastName: ["lastname", "surname", "familyname", "nachname", "nom"],
  phone: ["phone", "telephone", "phonenumber", "tel", "mobile"],
  company: ["company", "companyname", "organisation", "organization", "firma"],
  group: ["group", "customergroup", "pricegroup", "segment"],
  line1: ["line1", "address1", "street", "addressline1", "strasse"],
  line2: ["line2", "address2", "addressline2"],
  city: ["city", "town", "ort", "ville"],
  postalCode: ["postalcode", "zip", "zipcode", "postcode", "plz"],
  region: ["region", "state", "province", "county"],
  country: ["country", "countrycode", "land", "pays"],
  number: ["number", "ordernumber", "orderno", "docnum", "documentnumber", "invoicenumber"],
  placedAt: ["placedat", "orderdate", "createdat", "docdate", "date"],
  total: ["total", "grandtotal", "totalamount", "doctotal"],
  totalTax: ["totaltax", "tax", "taxamount", "vat", "vatsum"],
  financialStatus: ["financialstatus", "paymentstatus"],
  fulfillmentStatus: ["fulfillmentstatus", "deliverystatus"],
  unitPrice: ["unitprice", "price", "netprice"],
  discount: ["discount", "discountamount"],
  orderKey: ["orderkey", "orderid", "order"],
  orderNumber: ["ordernumber", "orderno", "orderref"],
  carrier: ["carrier", "shippingcarrier", "transporter"],
  trackingNumbers: ["trackingnumbers", "trackingnumber", "tracking", "trackingno", "trackingcode"],
  shippedAt: ["shippedat", "shipdate", "shippingdate", "deliverydate"],
  issuedAt: ["issuedat", "invoicedate", "issuedate", "date"],
  customerKey: ["customerkey", "customeremail", "customerid", "customer"],
  updatedAt: [
    "updatedat",
    "modifiedat",
    "lastmodified",
    "modified",
    "updated",
    "writedate",
    "dateupd",
    "datemodified",
    "changedat",
    "updatedate",
  ],
  status: ["status", "state", "active"],
  "priceList.code": ["pricelist", "pricelistcode", "listcode", "preisliste"],
  "priceList.name": ["pricelistname", "listname", "listenname"],
  "priceList.customerGroup": ["customergroup", "group", "pricegroup", "kundengruppe"],
  "priceList.currency": ["currency", "currencycode", "wahrung"],
  validFrom: ["validfrom", "startdate", "from"],
  validTo: ["validto", "enddate", "to"],
};

/** Lower case, accents and anything but letters and digits removed: `Währung` → `wahrung`. */
export function normaliseName(name: string): string {
  return name
    .normalize("NFD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .replace(/[^a-z0-9]/g, "");
}

function candidatesFor(path: string): string[] {
  const bare = path.replace(/\[\]/g, "");
  const last = bare.split(".").at(-1) as string;
  const names = new Set<string>([normaliseName(bare), normaliseName(last)]);
  for (const s of SYNONYMS[bare] ?? SYNONYMS[last] ?? []) names.add(normaliseName(s));
  return [...names];
}

/** A rule of the starter mapping: a source field's name, or a JSONata expression building a list. */
export type StarterRule = string | { expr: string };

export interface StarterMapping {
  /** Canonical field → rule, in the rule language of a connection's `fields` / a flow's mapping. */
  fields: Record<string, StarterRule>;
  /** Required canonical fields no source field's name matched: the user must write these rules. */
  missing: string[];
  /** Source fields no canonical field took. */
  unused: string[];
}

/** A source field's name as a JSONata path step: bare when it is a plain name, else in backquotes. */
function jsonataName(name: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name : `\`${name.replace(/`/g, "")}\``;
}

/** The canonical field that identifies each entity's records, from which `key` is proposed. */
const IDENTITY: Record<EntityName, string> = {
  category: "key",
  product: "variants[].sku",
  price: "sku",
  inventory: "sku",
  customer: "email",
  order: "number",
  shipment: "orderNumber",
  invoice: "number",
  refund: "key",
};

/**
 * Matches canonical fields to the shape's fields by name. A source field is used once; canonical fields are
 * taken required first, so `sku` gets `code` before a looser field would. A list of the record
 * (`variants[]`, `lines[]`, `addresses[]`) is passed through when the source has a field of that name;
 * otherwise, for a flat source (one row per record), its element's fields are matched among the row's
 * columns and built into a one-element list by an expression (`variants: { expr: "[{ 'sku': code }]" }`).
 * Lists inside lists (an order line's taxes) are left to the user.
 */
export function starterMapping(entity: EntityName, shape: DiscoveredShape): StarterMapping {
  const taken = new Set<string>();
  const byName = new Map<string, DiscoveredField>();
  for (const f of shape.fields) {
    const n = normaliseName(f.name);
    if (n !== "" && !byName.has(n)) byName.set(n, f);
  }
  const take = (path: string): string | undefined => {
    for (const candidate of candidatesFor(path)) {
      const hit = byName.get(candidate);
      if (hit && !taken.has(hit.name)) {
        taken.add(hit.name);
        return hit.name;
      }
    }
    return undefined;
  };
  const wanted = canonicalFields(entity).filter(
    (f) => f.path !== "key" && !(entity === "inventory" && f.path === "available"),
  );
  const ordered = [...wanted.filter((f) => f.required), ...wanted.filter((f) => !f.required)];
  const matched = new Map<string, string>();
  const lists = new Map<string, string>(); // list field → source field passed through
  for (const target of ordered) {
    const list = /^([^[]+)\[\]\.(.+)$/.exec(target.path);
    if (list) {
      const name = list[1] as string;
      if (lists.has(name) || (list[2] as string).includes("[]")) continue;
      const whole = byName.get(normaliseName(name));
      if (whole && !taken.has(whole.name)) {
        taken.add(whole.name);
        lists.set(name, whole.name);
        continue;
      }
    }
    const hit = take(target.path);
    if (hit !== undefined) matched.set(target.path, hit);
  }
  const fields: Record<string, StarterRule> = {};
  const keyFrom = matched.get(IDENTITY[entity]) ?? lists.get(IDENTITY[entity].split("[]")[0] as string);
  if (keyFrom !== undefined && !IDENTITY[entity].includes("[]")) fields.key = keyFrom;
  else if (keyFrom !== undefined && matched.has(IDENTITY[entity])) fields.key = keyFrom;
  // Keys made of two fields, as the canonical model writes them.
  const pair = (a: string, sep: string, b: string) => {
    const x = matched.get(a);
    const y = matched.get(b);
    if (x !== undefined && y !== undefined) {
      fields.key = { expr: `${jsonataName(x)} & '${sep}' & ${jsonataName(y)}` };
    }
  };
  if (entity === "price") pair("priceList.code", ":", "sku");
  if (entity === "inventory") pair("sku", "@", "location");
  // A customer's key is the e-mail address, lower-cased.
  const email = matched.get("email");
  if (entity === "customer" && email !== undefined)
    fields.key = { expr: `$lowercase(${jsonataName(email)})` };
  const built = new Set<string>();
  for (const target of wanted) {
    const list = /^([^[]+)\[\]\.(.+)$/.exec(target.path);
    if (!list) {
      const hit = matched.get(target.path);
      if (hit !== undefined) fields[target.path] = hit;
      continue;
    }
    const name = list[1] as string;
    if (built.has(name)) continue;
    built.add(name);
    const whole = lists.get(name);
    if (whole !== undefined) {
      fields[name] = whole;
      continue;
    }
    const elements = wanted.filter(
      (f) => f.path.startsWith(`${name}[].`) && !f.path.slice(name.length + 3).includes("[]"),
    );
    const parts = elements
      .filter((f) => matched.has(f.path))
      .map((f) => `'${f.path.slice(name.length + 3)}': ${jsonataName(matched.get(f.path) as string)}`);
    // An element missing a field it must have would make the record invalid: an optional list (a customer's
    // addresses) is then left out, and its columns are reported unused; a required one is built and the
    // missing fields named.
    const complete = elements.every((f) => !f.requiredInParent || matched.has(f.path));
    if (parts.length > 0 && (complete || target.required))
      fields[name] = { expr: `[{ ${parts.join(", ")} }]` };
    else for (const f of elements) if (matched.has(f.path)) taken.delete(matched.get(f.path) as string);
  }
  const covered = (path: string) => {
    if (matched.has(path) || fields[path] !== undefined) return true;
    const list = /^([^[]+)\[\]\./.exec(path);
    return list !== null && lists.has(list[1] as string);
  };
  const missing = ordered
    .filter((f) => f.required && !covered(f.path))
    .filter((f) => !(PROVENANCE_FIELDS as readonly string[]).includes(f.path))
    .map((f) => f.path);
  if (fields.key === undefined) missing.unshift("key");
  const unused = shape.fields.map((f) => f.name).filter((n) => !taken.has(n));
  return { fields, missing, unused };
}

/** The entity a shape looks like when its configuration does not say: the one whose required fields it covers best. */
export function guessEntity(shape: DiscoveredShape): EntityName | undefined {
  let best: { entity: EntityName; score: number } | undefined;
  for (const entity of ENTITIES) {
    const required = canonicalFields(entity).filter(
      (f) => f.required && !(PROVENANCE_FIELDS as readonly string[]).includes(f.path) && f.path !== "key",
    );
    const m = starterMapping(entity, shape);
    const covered = required.length - m.missing.filter((p) => p !== "key").length;
    const score = required.length === 0 ? 0 : covered / required.length;
    if (score > 0.5 && (!best || score > best.score)) best = { entity, score };
  }
  return best?.entity;
}
