/**
 * The passerelle.yaml of a real pair — an ERP connection `erp` and a shop connection `shop` — as the pair
 * tests and demo:real write it: the store is SQLite in the run's folder, secrets stay in the environment
 * (`${env:NAME}`, never in the file), and each flow moves one entity from one connection to the other.
 */
import { join } from "node:path";

/** passerelle.yaml's reference to an environment variable: the secret itself is never written. */
export const envRef = (name) => `\${env:${name}}`;

/**
 * `erp` and `shop` are the connections' settings as YAML lines (nested lines indented by the caller);
 * `flows` are `[name, source connection, entity, extra YAML lines?]`, the target being the other connection;
 * `store` names the SQLite file in `dir`.
 */
export function pairYaml({ dir, erp, shop, flows, store = "passerelle.sqlite" }) {
  const other = { erp: "shop", shop: "erp" };
  return [
    "version: 1",
    "store:",
    `  url: sqlite:${join(dir, store)}`,
    "connections:",
    "  erp:",
    ...erp.map((line) => `    ${line}`),
    "  shop:",
    ...shop.map((line) => `    ${line}`),
    "flows:",
    ...flows.flatMap(([name, from, entity, extra = []]) => {
      if (!(from in other)) throw new Error(`flow ${name}: source must be erp or shop, got ${from}`);
      return [
        `  ${name}:`,
        `    source: { connection: ${from}, entity: ${entity} }`,
        `    target: { connection: ${other[from]}, entity: ${entity} }`,
        ...extra.map((line) => `    ${line}`),
      ];
    }),
    "",
  ].join("\n");
}

/** The flows of a whole pair: catalog, prices and stock to the shop, customers and orders back, then
 * shipments (and, where the shop takes them, invoices) to the shop. */
export const CATALOG_FLOWS = [
  ["products", "erp", "product"],
  ["prices", "erp", "price"],
  ["stock", "erp", "inventory"],
];
export const ORDER_FLOWS = [
  ["customers", "shop", "customer"],
  ["orders", "shop", "order"],
  ["shipments", "erp", "shipment"],
];

/** A started Tryton's connection settings (scripts/real/tryton.mjs), its password from TRYTON_PASSWORD. */
export function trytonConnection(erp, url = erp.url) {
  return [
    "type: tryton",
    `url: ${url}`,
    `db: ${erp.db}`,
    `username: ${erp.user}`,
    `password: ${envRef("TRYTON_PASSWORD")}`,
  ];
}

/** A started Vendure's connection settings (scripts/real/vendure.mjs), its password from VENDURE_PASSWORD. */
export function vendureConnection(shop, locations) {
  return [
    "type: vendure",
    `url: ${shop.url}`,
    `username: ${shop.adminUser}`,
    `password: ${envRef("VENDURE_PASSWORD")}`,
    "locationMap:",
    ...Object.entries(locations).map(([code, name]) => `  ${code}: ${name}`),
  ];
}
