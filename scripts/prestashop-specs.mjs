#!/usr/bin/env node
/**
 * Writes specs/prestashop/<resource>.json from PrestaShop's developer documentation: for each Webservice
 * resource the connector or its emulator uses, the field table of `webservice/resources/<resource>.md`
 * (format validator, required, writable, max size, not filterable) and its blank schema (field order, which
 * fields are language-keyed, the associations and their fields). These pages are the published form of the
 * `?schema=synopsis` answers (PrestaShop has no OpenAPI for the Webservice).
 *
 *   node scripts/prestashop-specs.mjs <checkout of github.com/PrestaShop/docs, branch 8.x>
 *
 * Only facts are kept (names, flags, sizes); the pages' prose is not. specs/NOTICE.md names the source and
 * the commit the files were generated from.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { XMLParser } from "fast-xml-parser";

export const RESOURCES = [
  "products",
  "combinations",
  "product_options",
  "product_option_values",
  "specific_prices",
  "stock_availables",
  "customers",
  "addresses",
  "groups",
  "orders",
  "order_histories",
  "order_carriers",
  "order_states",
  "currencies",
  "countries",
  "languages",
];

const [repo] = process.argv.slice(2);
if (!repo) {
  console.error("usage: node scripts/prestashop-specs.mjs <PrestaShop/docs checkout (git dir or work tree)>");
  process.exit(2);
}
const git = (...args) => execFileSync("git", ["--git-dir", repo, ...args], { encoding: "utf8" });
const commit = git("rev-parse", "HEAD").trim();
const out = join(import.meta.dirname, "..", "specs", "prestashop");
mkdirSync(out, { recursive: true });

const yes = (cell) => cell.includes("✔");
for (const resource of RESOURCES) {
  const md = git("show", `HEAD:webservice/resources/${resource}.md`);
  const lines = md.split("\n");
  const header = lines.find((l) => /^\|\s*Name\s*\|/.test(l));
  if (!header) throw new Error(`${resource}: no field table`);
  const cols = header
    .split("|")
    .slice(1, -1)
    .map((c) => c.trim().toLowerCase());
  const at = (name) => cols.indexOf(name);
  const fields = {};
  for (const l of lines) {
    const m = /^\|\s*\*\*([a-z0-9_]+)\*\*\s*\|/.exec(l);
    if (!m) continue;
    const cells = l
      .split("|")
      .slice(1, -1)
      .map((c) => c.trim());
    const size = at("max size") >= 0 ? cells[at("max size")] : "";
    fields[m[1]] = {
      format: (at("format") >= 0 ? cells[at("format")] : "") || null,
      required: yes(cells[at("required")] ?? ""),
      // Pages without a Writable column document writable resources only.
      writable: at("writable") >= 0 ? yes(cells[at("writable")] ?? "") : true,
      maxSize: size && /^\d+$/.test(size) ? Number(size) : null,
      filterable: at("not filterable") >= 0 ? (cells[at("not filterable")] ?? "") !== "true" : true,
      language: false,
    };
  }
  const xml = /```xml\n([\s\S]*?)```/.exec(md)?.[1];
  if (!xml) throw new Error(`${resource}: no blank schema`);
  const doc = new XMLParser({ ignoreAttributes: false, preserveOrder: true, cdataPropName: "#cdata" }).parse(
    xml,
  );
  const root = doc.find((n) => n.prestashop).prestashop;
  const elementNode = root.find((n) => Object.keys(n).some((k) => !k.startsWith(":@") && k !== "#text"));
  const element = Object.keys(elementNode).find((k) => k !== ":@");
  const order = [];
  const associations = {};
  for (const child of elementNode[element]) {
    const name = Object.keys(child).find((k) => k !== ":@" && k !== "#text");
    if (!name) continue;
    order.push(name);
    if (name === "associations") {
      for (const a of child.associations) {
        const aname = Object.keys(a).find((k) => k !== ":@" && k !== "#text");
        if (!aname) continue;
        const itemNode = a[aname].find((n) => Object.keys(n).some((k) => k !== ":@" && k !== "#text"));
        const item = itemNode ? Object.keys(itemNode).find((k) => k !== ":@" && k !== "#text") : null;
        const itemFields = itemNode
          ? itemNode[item].map((n) => Object.keys(n).find((k) => k !== ":@" && k !== "#text")).filter(Boolean)
          : [];
        associations[aname] = { item, fields: itemFields };
      }
      continue;
    }
    const isLang = (child[name] ?? []).some((n) => "language" in n);
    if (fields[name]) fields[name].language = isLang;
    else if (name !== "id")
      fields[name] = {
        format: null,
        required: false,
        writable: true,
        maxSize: null,
        filterable: true,
        language: isLang,
      };
  }
  delete fields.associations;
  const spec = {
    resource,
    element,
    source: `github.com/PrestaShop/docs@${commit} webservice/resources/${resource}.md`,
    order,
    fields,
    associations,
  };
  writeFileSync(join(out, `${resource}.json`), `${JSON.stringify(spec, null, 2)}\n`);
  console.log(
    `${resource}: ${Object.keys(fields).length} fields, ${Object.keys(associations).length} associations`,
  );
}
console.log(`from PrestaShop/docs ${commit}`);
