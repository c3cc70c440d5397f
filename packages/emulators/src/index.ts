/**
 * @passerelle/emulators: stand-ins for the systems Passerelle connects (an Odoo and a Shopify that answer
 * their real APIs from memory), the demo's world around them, and the fault injection the tests and chaos
 * runs use. A development package of the repository: `passerelle demo` and `passerelle emulate` load it
 * when it is there; the published passerelle package does not contain it.
 */

export {
  ACUMATICA_VERSION,
  AcumaticaContract,
  acumaticaContract,
  acumaticaSpecPath,
  acumaticaSpecSkip,
} from "./acumatica/contract.ts";
export { AcuError, AcumaticaData } from "./acumatica/data.ts";
export {
  type AcumaticaEmulator,
  type AcumaticaEmulatorOptions,
  acumaticaEmulatorEnv,
  startAcumaticaEmulator,
} from "./acumatica/server.ts";
export {
  BIGCOMMERCE_DOCUMENTS,
  BigCommerceContract,
  bigcommerceContract,
  bigcommerceSpecDir,
  bigcommerceSpecSkip,
  bigcommerceWebhookPayloads,
  type Operation as BigCommerceOperation,
} from "./bigcommerce/contract.ts";
export { BigCommerceData, bcTime } from "./bigcommerce/data.ts";
export {
  type BigCommerceEmulator,
  type BigCommerceEmulatorOptions,
  bigcommerceEmulatorEnv,
  startBigCommerceEmulator,
} from "./bigcommerce/server.ts";
export { BcData, BcError, VAT_RATE as BC_VAT_RATE } from "./business-central/data.ts";
export { BC_DIGEST_FILE, BcDigest, bcDigest, bcDigestPath } from "./business-central/digest.ts";
export {
  BC_DEFAULT_PAGE_SIZE,
  BC_MAX_CONCURRENT,
  type BcEmulator,
  type BcEmulatorOptions,
  bcEmulatorEnv,
  startBcEmulator,
} from "./business-central/server.ts";
export {
  type DemoSystems,
  invoiceShippedSales,
  PLUS_PLAN,
  type PlacedOrder,
  placeOrders,
  refundOrderIn,
  type ShippedPicking,
  shipReadyDeliveries,
  startDemoSystems,
} from "./demo/systems.ts";
export {
  MAGENTO_VERSION,
  MagentoContract,
  magentoContract,
  magentoSpecPath,
  magentoSpecSkip,
  type Operation as MagentoOperation,
} from "./magento/contract.ts";
export { MagentoData, magentoTime } from "./magento/data.ts";
export {
  type MagentoEmulator,
  type MagentoEmulatorOptions,
  magentoEmulatorEnv,
  startMagentoEmulator,
} from "./magento/server.ts";
export {
  type NetSuiteEmulator,
  type NetSuiteEmulatorOptions,
  netsuiteEmulatorEnv,
  netsuiteShapes,
  parseSuiteQL,
  startNetSuiteEmulator,
} from "./netsuite/server.ts";
export {
  FAULT_KINDS,
  FaultInjector,
  type FaultKind,
  type FaultOptions,
  type FaultStats,
  parseFaults,
} from "./odoo/faults.ts";
export {
  type OdooEmulator,
  type OdooEmulatorOptions,
  odooEmulatorEnv,
  startOdooEmulator,
} from "./odoo/index.ts";
export {
  FUSION_COLLECTIONS,
  FUSION_ROOT,
  FUSION_VERSION,
  FusionContract,
  fusionCollectionPath,
  fusionContract,
  fusionSpecDir,
  fusionSpecSkip,
} from "./oracle-fusion/contract.ts";
export {
  type FusionData,
  type FusionEmulator,
  type FusionEmulatorOptions,
  type FusionOrder,
  fusionEmulatorEnv,
  startFusionEmulator,
} from "./oracle-fusion/server.ts";
export { ORDER_STATES as PRESTASHOP_ORDER_STATES, PrestaShopData, psTime } from "./prestashop/data.ts";
export {
  type PrestaShopEmulator,
  type PrestaShopEmulatorOptions,
  prestashopEmulatorEnv,
  startPrestaShopEmulator,
} from "./prestashop/server.ts";
export {
  checkAnswer as checkPrestaShopAnswer,
  checkBody as checkPrestaShopBody,
  type LangValue as PrestaShopLangValue,
  type PsRecord,
  prestashopSpecDir,
  prestashopSpecs,
  type ResourceSpec as PrestaShopResourceSpec,
} from "./prestashop/spec.ts";
export { COUNTRIES as S4_COUNTRIES, navOf, S4Data, S4Error } from "./s4hana/data.ts";
export {
  S4_SERVICES,
  type S4ServiceName,
  s4Service,
  s4SpecPath,
  s4SpecSkip,
  V2Service,
} from "./s4hana/metadata.ts";
export {
  S4_DEFAULT_PAGE_SIZE,
  S4_ROOT,
  type S4Emulator,
  type S4EmulatorOptions,
  s4EmulatorEnv,
  startS4Emulator,
} from "./s4hana/server.ts";
export { B1Error, b1Stamp, OBJECT_TYPE as SAP_B1_OBJECT_TYPE, SapB1Data } from "./sap-b1/data.ts";
export { parseFilter as parseSapB1Filter, QueryError as SapB1QueryError } from "./sap-b1/filter.ts";
export {
  SAP_B1_METADATA_FILE,
  SapB1Metadata,
  sapB1Metadata,
  sapB1MetadataPath,
  sapB1SpecSkip,
} from "./sap-b1/metadata.ts";
export {
  DEFAULT_PAGE_SIZE as SAP_B1_DEFAULT_PAGE_SIZE,
  type SapB1Emulator,
  type SapB1EmulatorOptions,
  sapB1EmulatorEnv,
  startSapB1Emulator,
} from "./sap-b1/server.ts";
export {
  type Operation as SfccOperation,
  SFCC_APIS,
  SfccContract,
  sfccContract,
  sfccSpecDir,
  sfccSpecPath,
  sfccSpecSkip,
} from "./sfcc/contract.ts";
export { SfccData, SfccHttpError } from "./sfcc/data.ts";
export {
  type SfccEmulator,
  type SfccEmulatorOptions,
  sfccEmulatorEnv,
  startSfccEmulator,
} from "./sfcc/server.ts";
export { DEFAULT_RATE_LIMIT, type RateLimitOptions } from "./shopify/bucket.ts";
export {
  actualQueryCost,
  MUTATION_FIELD_COST,
  requestedQueryCost,
  SINGLE_QUERY_MAX_COST,
} from "./shopify/cost.ts";
export { API_VERSION, schemaPath, shopifySchema } from "./shopify/schema.ts";
export {
  EMULATOR_SHOP,
  type EmulatorStats,
  type ShopifyEmulator,
  type ShopifyEmulatorOptions,
  shopifyEmulatorEnv,
  startShopifyEmulator,
} from "./shopify/server.ts";
export type { OrderRec } from "./shopify/store.ts";
export { ORDERS_PATH, VARIANTS_PATH } from "./shopify/storefront.ts";
