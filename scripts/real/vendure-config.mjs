/**
 * The Vendure configuration used by `npm run test:real` and `npm run demo:real`: SQLite through
 * better-sqlite3, loopback only, bearer tokens, the test payment handler that settles at once, and the
 * custom fields Passerelle's Vendure connector writes (the ERP invoice on the order, a variant's ships-on date). @vendure/core is a
 * development dependency: only these scripts load it, never Passerelle itself.
 */
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/**
 * Order custom fields the connector's invoice writer fills, and the list its shipment writer adds each
 * delivery note's ref to (`deliveryNoteField`; see docs/connectors/vendure.md).
 */
export const ORDER_CUSTOM_FIELDS = [
  { name: "invoiceNumber", type: "string", nullable: true, public: false },
  { name: "invoiceDocument", type: "string", nullable: true, public: false, length: 1024 },
  { name: "deliveryNotes", type: "string", list: true, nullable: true, public: false },
];

/**
 * Variant custom fields the connector's stock writer fills: the day an item out of stock ships (its
 * connection's `shipsOnField`, see docs/connectors/vendure.md). Public: the storefront shows it.
 */
export const VARIANT_CUSTOM_FIELDS = [{ name: "shipsOn", type: "string", nullable: true, public: true }];

/**
 * Rounds half to even, as Tryton rounds amounts (Python's ROUND_HALF_EVEN). Vendure's default rounds half
 * up, so a line whose tax ends in half a cent (17.50 at 19 % = 3.325) would total one cent more in the shop
 * than in the ERP. A shop and an ERP that book the same sales must round alike; Vendure makes it a setting.
 */
function halfEvenMoneyStrategy(DefaultMoneyStrategy) {
  return new (class extends DefaultMoneyStrategy {
    round(value, quantity = 1) {
      const x = value * quantity;
      const floor = Math.floor(x);
      if (Math.abs(x - floor - 0.5) < 1e-9) return floor % 2 === 0 ? floor : floor + 1;
      return Math.round(x);
    }
  })();
}

export const SUPERADMIN = { identifier: "superadmin", password: "superadmin-local-only" };

/**
 * @param {{ dbFile: string, port: number, withCustomFields?: boolean }} opts
 */
export function vendureConfig({ dbFile, port, withCustomFields = true }) {
  const { DefaultJobQueuePlugin, DefaultLogger, DefaultMoneyStrategy, LogLevel, dummyPaymentHandler } =
    require("@vendure/core");
  return {
    apiOptions: {
      hostname: "127.0.0.1",
      port,
      adminApiPath: "admin-api",
      shopApiPath: "shop-api",
      cors: { origin: [`http://127.0.0.1:${port}`], credentials: false },
    },
    authOptions: {
      tokenMethod: "bearer",
      superadminCredentials: SUPERADMIN,
      requireVerification: false,
    },
    entityOptions: { moneyStrategy: halfEvenMoneyStrategy(DefaultMoneyStrategy) },
    dbConnectionOptions: { type: "better-sqlite3", database: dbFile, synchronize: true, logging: false },
    paymentOptions: { paymentMethodHandlers: [dummyPaymentHandler] },
    customFields: withCustomFields
      ? { Order: ORDER_CUSTOM_FIELDS, ProductVariant: VARIANT_CUSTOM_FIELDS }
      : {},
    logger: new DefaultLogger({ level: LogLevel.Warn }),
    plugins: [DefaultJobQueuePlugin.init({ useDatabaseForBuffer: true })],
  };
}

/** What `populate` puts into a fresh database: zones, taxes, shipping, the test payment method. */
export const INITIAL_DATA = {
  defaultLanguage: "en",
  defaultZone: "Europe",
  taxRates: [
    { name: "Standard Tax", percentage: 19 },
    { name: "Reduced Tax", percentage: 7 },
  ],
  shippingMethods: [
    { name: "Standard Shipping", price: 500 },
    { name: "Express Shipping", price: 1000 },
  ],
  paymentMethods: [
    {
      name: "Standard Payment",
      handler: { code: "dummy-payment-handler", arguments: [{ name: "automaticSettle", value: "true" }] },
    },
  ],
  countries: [
    { name: "Germany", code: "DE", zone: "Europe" },
    { name: "Austria", code: "AT", zone: "Europe" },
    { name: "France", code: "FR", zone: "Europe" },
  ],
  collections: [],
};
