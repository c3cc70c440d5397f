/**
 * Every connector this build knows, by type, each imported only when asked for: a run loads the connectors
 * its configuration names and no others (importing all of them made a run of the demo's configuration ~20 MB
 * larger; BENCHMARKS.md, issue 22). Adding a connector is one line here; `connectors/index.ts` (the full list
 * for `passerelle connectors`, the JSON Schema and the docs) is built from this table.
 */
import { readFileSync } from "node:fs";
import { parseYaml } from "../config/yaml.ts";
import { SyncError } from "../core/errors.ts";
import type { ConnectorDefinition } from "../ports/connector.ts";

/** Type (as written in passerelle.yaml's `connections.<name>.type`) → its definition's module. */
export const connectorLoaders: Readonly<Record<string, () => Promise<ConnectorDefinition>>> = {
  odoo: async () => (await import("./odoo/index.ts")).odoo,
  shopify: async () => (await import("./shopify/index.ts")).shopify,
  vendure: async () => (await import("./vendure/index.ts")).vendure,
  tryton: async () => (await import("./tryton/index.ts")).tryton,
  woocommerce: async () => (await import("./woocommerce/index.ts")).woocommerce,
  file: async () => (await import("./file/index.ts")).file,
  medusa: async () => (await import("./medusa/index.ts")).medusa,
  sql: async () => (await import("./sql/index.ts")).sqlConnector,
  rest: async () => (await import("./rest/index.ts")).rest,
  magento: async () => (await import("./magento/index.ts")).magento,
  "sap-b1": async () => (await import("./sap-b1/index.ts")).sapB1,
  bigcommerce: async () => (await import("./bigcommerce/index.ts")).bigcommerce,
  "business-central": async () => (await import("./business-central/index.ts")).businessCentral,
  prestashop: async () => (await import("./prestashop/index.ts")).prestashop,
  s4hana: async () => (await import("./s4hana/index.ts")).s4hana,
  acumatica: async () => (await import("./acumatica/index.ts")).acumatica,
  sfcc: async () => (await import("./sfcc/index.ts")).sfcc,
  "oracle-fusion": async () => (await import("./oracle-fusion/index.ts")).oracleFusion,
  netsuite: async () => (await import("./netsuite/index.ts")).netsuite,
};

export const connectorKinds: readonly string[] = Object.keys(connectorLoaders);

const loaded = new Map<string, ConnectorDefinition>();

/** The definitions of these types (all when none are named), in the table's order; unknown types are skipped. */
export async function loadConnectors(
  kinds: Iterable<string> = connectorKinds,
): Promise<ConnectorDefinition[]> {
  const wanted = new Set(kinds);
  const out: ConnectorDefinition[] = [];
  for (const kind of connectorKinds) {
    if (!wanted.has(kind)) continue;
    let def = loaded.get(kind);
    if (def === undefined) {
      def = await (connectorLoaders[kind] as () => Promise<ConnectorDefinition>)();
      if (def.kind !== kind)
        throw new Error(`connectors/registry.ts: ${kind}'s module defines "${def.kind}"`);
      loaded.set(kind, def);
    }
    out.push(def);
  }
  return out;
}

/**
 * The definitions a configuration file needs: those of the types its connections name. When the file
 * cannot be read or parsed, or names a type this build does not know, every definition, so that the
 * configuration's own validation reports the problem with the full list of known types.
 */
export async function connectorsForConfig(path: string): Promise<ConnectorDefinition[]> {
  const kinds = connectionTypes(path);
  return loadConnectors(kinds?.every((k) => k in connectorLoaders) ? kinds : connectorKinds);
}

function connectionTypes(path: string): string[] | null {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return null;
  }
  const yaml = parseYaml(text);
  if (yaml.doc === undefined) return null;
  const raw: unknown = yaml.doc.toJS({ maxAliasCount: -1 });
  if (raw === null || typeof raw !== "object") return null;
  const connections = (raw as { connections?: unknown }).connections;
  if (connections === null || typeof connections !== "object") return null;
  const kinds: string[] = [];
  for (const conn of Object.values(connections)) {
    const type = conn !== null && typeof conn === "object" ? (conn as { type?: unknown }).type : undefined;
    if (typeof type !== "string") return null;
    kinds.push(type);
  }
  return kinds;
}

/** A definition already loaded (by loadConnectors or connectorsForConfig); an unknown type is a config error. */
export function loadedConnector(kind: string): ConnectorDefinition {
  const def = loaded.get(kind);
  if (def !== undefined) return def;
  if (!(kind in connectorLoaders)) {
    throw new SyncError(
      "config",
      `unknown connector type ${JSON.stringify(kind)}; known: ${connectorKinds.join(", ")}`,
    );
  }
  throw new Error(`connector ${kind} used before loadConnectors loaded it`);
}
