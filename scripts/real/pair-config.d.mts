/** Types of scripts/real/pair-config.mjs. */
/** A flow of the pair: its name, source connection and entity, and optional extra YAML lines of the flow. */
export type PairFlow =
  | [name: string, from: "erp" | "shop", entity: string]
  | [name: string, from: "erp" | "shop", entity: string, extra: string[]];
export function envRef(name: string): string;
export function pairYaml(opts: {
  dir: string;
  erp: string[];
  shop: string[];
  flows: PairFlow[];
  store?: string;
}): string;
export const CATALOG_FLOWS: PairFlow[];
export const ORDER_FLOWS: PairFlow[];
export function trytonConnection(erp: { url: string; db: string; user: string }, url?: string): string[];
export function vendureConnection(
  shop: { url: string; adminUser: string },
  locations: Record<string, string>,
): string[];
