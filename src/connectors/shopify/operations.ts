/**
 * Every GraphQL document the connector sends. operations.test.ts validates each one against the official
 * 2026-10 schema, so a renamed or removed field fails in CI rather than in a merchant's shop.
 */

const MONEY = `fragment Money on MoneyBag { shopMoney { amount currencyCode } }`;

const ADDRESS = `fragment Address on MailingAddress {
  firstName lastName company address1 address2 city zip province countryCodeV2 phone
}`;

export const SHOP = `query Shop { shop { id name currencyCode } }`;

const CUSTOMER_FIELDS = `fragment CustomerFields on Customer {
  id firstName lastName tags createdAt updatedAt
  defaultEmailAddress { emailAddress }
  defaultPhoneNumber { phoneNumber }
  addressesV2(first: 3) { nodes { ...Address } }
}
${ADDRESS}`;

export const CUSTOMERS = `query Customers($first: Int!, $after: String, $query: String) {
  customers(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes { ...CustomerFields }
  }
}
${CUSTOMER_FIELDS}`;

export const CUSTOMER = `query Customer($id: ID!) { customer(id: $id) { ...CustomerFields } }
${CUSTOMER_FIELDS}`;

const LINE_FIELDS = `fragment LineFields on LineItem {
  id sku title quantity
  originalUnitPriceSet { ...Money }
  totalDiscountSet { ...Money }
  taxLines { title rate priceSet { ...Money } }
}`;

/** Lines fetched with the order; an order with more is completed with ORDER_LINES. */
export const ORDER_LINES_INLINE = 20;

const ORDER_FIELDS = `fragment OrderFields on Order {
  id name createdAt updatedAt processedAt cancelledAt currencyCode email taxesIncluded
  displayFinancialStatus displayFulfillmentStatus discountCodes paymentGatewayNames
  customer { id firstName lastName defaultEmailAddress { emailAddress } }
  billingAddress { ...Address }
  shippingAddress { ...Address }
  subtotalPriceSet { ...Money }
  totalDiscountsSet { ...Money }
  totalShippingPriceSet { ...Money }
  totalTaxSet { ...Money }
  totalPriceSet { ...Money }
  currentTotalPriceSet { ...Money }
  totalReceivedSet { ...Money }
  shippingLines(first: 2) { nodes { title originalPriceSet { ...Money } taxLines { title rate priceSet { ...Money } } } }
  lineItems(first: ${ORDER_LINES_INLINE}) { pageInfo { hasNextPage endCursor } nodes { ...LineFields } }
}
${LINE_FIELDS}
${ADDRESS}
${MONEY}`;

export const ORDERS = `query Orders($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes { ...OrderFields }
  }
}
${ORDER_FIELDS}`;

export const ORDER = `query Order($id: ID!) { order(id: $id) { ...OrderFields } }
${ORDER_FIELDS}`;

export const ORDER_LINES = `query OrderLines($id: ID!, $after: String) {
  order(id: $id) {
    lineItems(first: 100, after: $after) { pageInfo { hasNextPage endCursor } nodes { ...LineFields } }
  }
}
${LINE_FIELDS}
${MONEY}`;

export const ORDER_BY_NAME = `query OrderByName($query: String!) {
  orders(first: 1, query: $query) { nodes { id name } }
}`;

export const ORDER_FULFILLMENT = `query OrderFulfillment($id: ID!) {
  order(id: $id) {
    id name
    fulfillmentOrders(first: 10) {
      nodes { id status lineItems(first: 50) { nodes { id sku remainingQuantity } } }
    }
    fulfillments(first: 50) { id name trackingInfo(first: 10) { number url company } }
  }
}`;

export const FULFILLMENT_CREATE = `mutation FulfillmentCreate($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id name status trackingInfo(first: 10) { number url company } }
    userErrors { field message }
  }
}`;

/** Variants per product read back; the writer refuses products with more (see writers/product.ts). */
export const PRODUCT_VARIANTS_MAX = 100;

const PRODUCT_FIELDS = `fragment ProductFields on Product {
  id title handle descriptionHtml vendor status createdAt updatedAt
  options { name values }
  variants(first: ${PRODUCT_VARIANTS_MAX}) {
    nodes { id sku title barcode price compareAtPrice selectedOptions { name value } }
  }
}`;

export const PRODUCTS = `query Products($first: Int!, $after: String, $query: String) {
  products(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes { ...ProductFields }
  }
}
${PRODUCT_FIELDS}`;

export const PRODUCT = `query Product($id: ID!) { product(id: $id) { ...ProductFields } }
${PRODUCT_FIELDS}`;

export const VARIANTS_BY_SKU = `query VariantsBySku($first: Int!, $query: String!) {
  productVariants(first: $first, query: $query) {
    nodes { id sku inventoryItem { id } product { id } }
  }
}`;

export const PRODUCT_SET = `mutation ProductSet($input: ProductSetInput!, $identifier: ProductSetIdentifiers) {
  productSet(input: $input, identifier: $identifier, synchronous: true) {
    product { ...ProductFields }
    userErrors { field message code }
  }
}
${PRODUCT_FIELDS}`;

export const LOCATIONS = `query Locations { locations(first: 250) { nodes { id name isActive } } }`;

export const PRICE_LISTS = `query PriceLists($after: String) {
  priceLists(first: 250, after: $after) { pageInfo { hasNextPage endCursor } nodes { id name currency } }
}`;

export const PRICE_LIST_CREATE = `mutation PriceListCreate($input: PriceListCreateInput!) {
  priceListCreate(input: $input) { priceList { id name currency } userErrors { field message code } }
}`;

/**
 * Fixed prices and quantity price breaks in one call: PriceListPriceInput (priceListFixedPricesAdd) has no
 * quantity breaks in 2026-10, so tiers need this mutation anyway, and one path is simpler than two.
 */
export const QUANTITY_PRICING_UPDATE = `mutation QuantityPricingUpdate($priceListId: ID!, $input: QuantityPricingByVariantUpdateInput!) {
  quantityPricingByVariantUpdate(priceListId: $priceListId, input: $input) {
    productVariants { id }
    userErrors { field message code }
  }
}`;

/** 2026-04 made the @idempotent key mandatory on this mutation. */
export const INVENTORY_SET = `mutation InventorySet($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id changes { name delta quantityAfterChange } }
    userErrors { field message code }
  }
}`;

export const ALL_OPERATIONS: Record<string, string> = {
  SHOP,
  CUSTOMERS,
  CUSTOMER,
  ORDERS,
  ORDER,
  ORDER_LINES,
  ORDER_BY_NAME,
  ORDER_FULFILLMENT,
  FULFILLMENT_CREATE,
  PRODUCTS,
  PRODUCT,
  VARIANTS_BY_SKU,
  PRODUCT_SET,
  LOCATIONS,
  PRICE_LISTS,
  PRICE_LIST_CREATE,
  QUANTITY_PRICING_UPDATE,
  INVENTORY_SET,
};

/** Every collection with its category metafield (the category key, parent and position: see writers/category.ts). */
export const CATEGORY_COLLECTIONS = `query CategoryCollections($after: String) {
  collections(first: 250, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { id title category: metafield(namespace: "passerelle", key: "category") { value } }
  }
}`;

export const COLLECTION_CREATE = `mutation CollectionCreate($collection: CollectionCreateInput!) {
  collectionCreate(collection: $collection) { collection { id title } userErrors { field message } }
}`;

export const COLLECTION_UPDATE = `mutation CollectionUpdate($collection: CollectionUpdateInput!) {
  collectionUpdate(collection: $collection) { collection { id title } userErrors { field message } }
}`;

/** The category menu: three levels, as deep as Shopify's navigation nests. */
export const CATEGORY_MENU = `query CategoryMenu($query: String!) {
  menus(first: 1, query: $query) {
    nodes { id handle items { title resourceId items { title resourceId items { title resourceId } } } }
  }
}`;

export const MENU_CREATE = `mutation MenuCreate($title: String!, $handle: String!, $items: [MenuItemCreateInput!]!) {
  menuCreate(title: $title, handle: $handle, items: $items) { menu { id } userErrors { field message code } }
}`;

export const MENU_UPDATE = `mutation MenuUpdate($id: ID!, $title: String!, $handle: String, $items: [MenuItemUpdateInput!]!) {
  menuUpdate(id: $id, title: $title, handle: $handle, items: $items) { menu { id } userErrors { field message code } }
}`;

/** The collections a product is in (read only for products that carry categories). */
export const PRODUCT_COLLECTIONS = `query ProductCollections($id: ID!) {
  product(id: $id) { collections(first: 250) { nodes { id } } }
}`;
