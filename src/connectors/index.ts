/**
 * Every connector this build knows, registered by import: adding one is a line here, and the config
 * schema, `passerelle connectors` and the JSON Schema pick it up from this list.
 */
import type { ConnectorDefinition } from "../ports/connector.ts";
import { acumatica } from "./acumatica/index.ts";
import { bigcommerce } from "./bigcommerce/index.ts";
import { businessCentral } from "./business-central/index.ts";
import { file } from "./file/index.ts";
import { magento } from "./magento/index.ts";
import { medusa } from "./medusa/index.ts";
import { netsuite } from "./netsuite/index.ts";
import { odoo } from "./odoo/index.ts";
import { oracleFusion } from "./oracle-fusion/index.ts";
import { prestashop } from "./prestashop/index.ts";
import { rest } from "./rest/index.ts";
import { s4hana } from "./s4hana/index.ts";
import { sapB1 } from "./sap-b1/index.ts";
import { sfcc } from "./sfcc/index.ts";
import { shopify } from "./shopify/index.ts";
import { sqlConnector } from "./sql/index.ts";
import { tryton } from "./tryton/index.ts";
import { vendure } from "./vendure/index.ts";
import { woocommerce } from "./woocommerce/index.ts";

export const connectorDefinitions: readonly ConnectorDefinition[] = [
  odoo,
  shopify,
  vendure,
  tryton,
  woocommerce,
  file,
  medusa,
  sqlConnector,
  rest,
  magento,
  sapB1,
  bigcommerce,
  businessCentral,
  prestashop,
  s4hana,
  acumatica,
  sfcc,
  oracleFusion,
  netsuite,
];
