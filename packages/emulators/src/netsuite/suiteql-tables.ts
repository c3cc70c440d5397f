/**
 * SuiteQL tables and REST record fields for item fulfilments, tracking numbers, invoices, stock per location and
 * item prices per price level,
 * merged by the emulator into test/fixtures/netsuite/record-shapes.json (see netsuiteShapes). A module rather than a
 * JSON file so that the compiled emulator carries it.
 */
export const SUITEQL_OVERLAY = {
  about:
    "SuiteQL tables and columns for item fulfilments, tracking numbers, invoices, stock per location and item prices per price level, merged by the emulator into test/fixtures/netsuite/record-shapes.json. No Oracle-published machine-readable file backs them (SuiteQL's records catalog is per account and behind a login); every column below is named by at least one public source that ran it against a NetSuite account, except where a source is marked documentation only and the column is listed under unverified. Sources are read, not copied; their texts and code are not part of this project.",
  sources: {
    Q1: "github:yemming/netsuite_mid_platform_v01 NETSUITE_SUITEQL_TABLES_GUIDE.md @7df1d8120ec2f1c651d7218f2d7ab735bba4533c (a report of SuiteQL tried against an account: sales orders and invoices are rows of the transaction table, type 'SalesOrd' and 'CustInvc'; location and currency are tables)",
    Q2: "github:JEMackay11/NetSpot src/FileCabinet/SuiteScripts/CustomScripts/NetSpot/sql/invoicetle.sql and opportunitytle.sql @f9b195c301bc81f1d87065895f889c56f17ccd45 (transaction: id, tranid, trandate, foreigntotal, currency, entity, lastmodifieddate, type 'CustInvc'; currency.symbol joined on transaction.currency = currency.id)",
    Q3: "https://softwaresurvivor.com/blog/track-netsuite-item-fulfillments-shipping-packages-suiteql (item fulfilments are transaction rows of type 'ItemShip'; transactionline joined on transactionline.transaction = transaction.id carries item and quantity)",
    Q4: "public SuiteQL in several unrelated GitHub projects found by exact-string search of the code index (repositories not named by the index): 'transactionline.createdfrom = <sales order id> AND transaction.type = 'ItemShip'' with transactionline.mainline = 'T'; 'JOIN trackingnumbermap m ON m.transaction = f.id JOIN trackingnumber n ON n.id = m.trackingnumber' (five independent files, one noting that tracking numbers are not on the itemFulfillment REST record); fulfilment and sales-order line quantities read as 'quantity * -1'; tl.taxline 'T'/'F'; tl.foreignamount the line amount in the transaction's currency",
    Q5: "public SuiteQL in several unrelated GitHub projects found by exact-string search of the code index: 'SELECT item, location, averagecostmli, quantityavailable, quantitybackordered, quantitycommitted, quantityonhand, quantityonorder FROM inventoryitemlocations' and a SuiteQL guide describing quantityavailable as on hand minus committed; https://support.cloudextend.io/extendinsights-netsuite/en/articles/13848585 (location.id, location.name); https://cdn.cdata.com/help/DNM/ado/pg_SuiteQLtable-inventoryitemlocations.htm (the inventoryItemLocations SuiteQL table)",
    Q6: "github:ExploreConsulting/netsuite-fasttrack-toolkit-ss2 DataAccess/ItemFulfillmentBase.ts @1da3d46ec1e65e37761b149fb09924a0e9fb1e2a (the itemfulfillment record: createdfrom, the item sublist, the package sublist with packagetrackingnumber)",
    Q7: "public SuiteQL sent to the REST query service in a Next.js route of an unnamed GitHub project (found by exact-string search of the code index; the route reports rows and errors per step of a run against its account): the item's base price read as Pricing.unitprice joined on Pricing.item = Item.id AND Pricing.pricelevel = 1 AND Pricing.quantity = 1",
    Q8: "public SuiteQL bodies posted to the REST query service in unnamed GitHub projects found by exact-string search of the code index: 'pricing.item, pricing.pricelevel, pricing.unitprice, pricelevel.name ... FROM pricing LEFT JOIN pricelevel ON pricing.pricelevel = pricelevel.id LEFT JOIN itemquantity ON pricing.item = itemquantity.item AND pricing.quantity = itemquantity.seqnum' (pricing.quantity is the number of the quantity break, not a quantity); 'SELECT item, quantity, saleunit, priceqty, unitprice FROM pricing WHERE item = <id>' in a service class",
    Q9: "documentation only: https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_159531460854.html (the item's pricing sublist over REST: one price per currency, price level and quantity row) and https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_1502207768.html (the pricing matrix: prices per price level and quantity level, one matrix per currency); public SuiteScript saved searches filtering the item's pricing join by pricing.currency and pricing.pricelevel (N/search, not SuiteQL)",
  },
  unverified: [
    "transaction.lastmodifieddate on ItemShip rows changing when a tracking number is added to a fulfilment (the emulator stamps it; a real account may not)",
    "the sign of foreignamount on an invoice's tax lines (the connector takes the absolute value) and tax lines at all under SuiteTax",
    "inventoryitemlocations has no lastmodifieddate in any source: stock is read as a snapshot",
    "pricing.currency as a SuiteQL column (Q9 only: the REST sublist and saved searches name a currency per price row; no public SuiteQL read it), and what a single-currency account puts there",
    "pricing.quantity = 1 being the first quantity break (the price from quantity 0 or 1 up) in every account: Q7 reads the base price so and Q8 joins quantity to itemquantity.seqnum, but neither says so",
    "pricing has no lastmodifieddate in any source (a table 'itemprice' with one appears only in code that shows no sign of having run): prices are read as a snapshot",
    "customer.pricelevel (the level a customer buys at) is not read: which customer group a level serves is configuration",
  ],
  records: {
    itemFulfillment: {
      source: "Q6 (record), REST field names as camelCase of the SuiteScript ids: unverified",
      fields: ["entity", "tranDate", "item", "package"],
      sublists: { item: ["item", "quantity"], package: ["packageTrackingNumber"] },
    },
    invoice: {
      source: "Q2 (SuiteQL columns); REST field names unverified",
      fields: ["currency", "tranDate", "item", "subtotal", "taxTotal"],
      sublists: { item: ["item", "quantity", "rate", "amount"] },
    },
  },
  tables: {
    transaction: {
      source: "Q1, Q2, Q3",
      columns: [
        "id",
        "tranid",
        "type",
        "trandate",
        "otherrefnum",
        "entity",
        "currency",
        "foreigntotal",
        "lastmodifieddate",
      ],
    },
    transactionline: {
      source: "Q3, Q4",
      columns: [
        "id",
        "transaction",
        "mainline",
        "taxline",
        "createdfrom",
        "item",
        "quantity",
        "foreignamount",
      ],
    },
    trackingnumbermap: { source: "Q4", columns: ["transaction", "trackingnumber"] },
    trackingnumber: { source: "Q4", columns: ["id", "trackingnumber"] },
    inventoryitemlocations: {
      source: "Q5",
      columns: ["item", "location", "quantityonhand", "quantityavailable", "quantitycommitted"],
    },
    location: { source: "Q1, Q5", columns: ["id", "name"] },
    currency: { source: "Q1, Q2", columns: ["id", "symbol"] },
    pricing: {
      source: "Q7, Q8 (item, pricelevel, quantity, unitprice); Q9, documentation only (currency)",
      columns: ["item", "pricelevel", "currency", "quantity", "unitprice"],
    },
    pricelevel: { source: "Q8", columns: ["id", "name"] },
  },
} as const;
