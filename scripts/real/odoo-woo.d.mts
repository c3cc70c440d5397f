/** Types of scripts/real/odoo-woo.mjs: the Odoo 17 ⇄ WooCommerce pair as a merchant runs it. */
import type { OdooConnection } from "./odoo.d.mts";
import type { StartedWoo } from "./woocommerce.d.mts";

export const SECRET_ENV: { odoo: string; woo: string };
export function pairConfig(
  dir: string,
  erp: OdooConnection,
  shop: StartedWoo,
  opts?: { priceList?: string },
): string;
export function pairEnv(
  config: string,
  erp: OdooConnection,
  shop: StartedWoo,
  base?: NodeJS.ProcessEnv,
): NodeJS.ProcessEnv;
export type WooApi = <T = Record<string, unknown>>(
  method: string,
  path: string,
  body?: unknown,
) => Promise<T>;
export function wooApi(shop: StartedWoo): WooApi;
export function shopTax(api: WooApi): Promise<void>;
export interface WooItem {
  id: number;
  name: string;
  type?: string;
  sku: string;
  regular_price: string;
  stock_quantity: number | null;
  manage_stock: boolean | "parent";
  date_modified_gmt: string;
  attributes: { name: string; option?: string; options?: string[] }[];
  /** Variations: the variable product's id. */
  parent_id?: number;
}
export function shopItems(api: WooApi): Promise<Map<string, WooItem>>;
export interface WooCustomer {
  id: number;
  email: string;
  billing: Record<string, string>;
  shipping: Record<string, string>;
}
export function registerCustomer(api: WooApi, email: string): Promise<WooCustomer>;
export interface WooOrder {
  id: number;
  number: string;
  status: string;
  total: string;
  total_tax: string;
  customer_id: number;
  billing: { email: string };
  line_items: { sku: string; quantity: number }[];
  meta_data: { key: string; value: unknown }[];
  date_modified_gmt: string;
}
export function placeOrder(api: WooApi, customer: WooCustomer, lines: [string, number][]): Promise<WooOrder>;
