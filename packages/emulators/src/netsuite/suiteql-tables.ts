/**
 * SuiteQL tables and REST record fields for item fulfilments, tracking numbers, invoices and stock per location,
 * merged by the emulator into test/fixtures/netsuite/record-shapes.json (see netsuiteShapes). A module rather than a
 * JSON file so that the compiled emulator carries it.
 */
export const SUITEQL_OVERLAY = {
  about:
    "SuiteQL tables and columns for item fulfilments, tracking numbers, invoices and stock per location, merged by the emulator into test/fixtures/netsuite/record-shapes.json. No Oracle-published machine-readable file backs them (SuiteQL's records catalog is per account and behind a login); every column below is named by at least one public source that ran it against a NetSuite account. Sources are read, not copied; their texts and code are not part of this project.",
  sources: {
    Q1: "github:yemming/netsuite_mid_platform_v01 NETSUITE_SUITEQL_TABLES_GUIDE.md @7df1d8120ec2f1c651d7218f2d7ab735bba4533c (a report of SuiteQL tried against an account: sales orders and invoices are rows of the transaction table, type 'SalesOrd' and 'CustInvc'; location and currency are tables)",
    Q2: "github:JEMackay11/NetSpot src/FileCabinet/SuiteScripts/CustomScripts/NetSpot/sql/invoicetle.sql and opportunitytle.sql @f9b195c301bc81f1d87065895f889c56f17ccd45 (transaction: id, tranid, trandate, foreigntotal, currency, entity, lastmodifieddate, type 'CustInvc'; currency.symbol joined on transaction.currency = currency.id)",
    Q3: "https://softwaresurvivor.com/blog/track-netsuite-item-fulfillments-shipping-packages-suiteql (item fulfilments are transaction rows of type 'ItemShip'; transactionline joined on transactionline.transaction = transaction.id carries item and quantity)",
    Q4: "public SuiteQL in several unrelated GitHub projects found by exact-string search of the code index (repositories not named by the index): 'transactionline.createdfrom = <sales order id> AND transaction.type = 'ItemShip'' with transactionline.mainline = 'T'; 'JOIN trackingnumbermap m ON m.transaction = f.id JOIN trackingnumber n ON n.id = m.trackingnumber' (five independent files, one noting that tracking numbers are not on the itemFulfillment REST record); fulfilment and sales-order line quantities read as 'quantity * -1'; tl.taxline 'T'/'F'; tl.foreignamount the line amount in the transaction's currency",
    Q5: "public SuiteQL in several unrelated GitHub projects found by exact-string search of the code index: 'SELECT item, location, averagecostmli, quantityavailable, quantitybackordered, quantitycommitted, quantityonhand, quantityonorder FROM inventoryitemlocations' and a SuiteQL guide describing quantityavailable as on hand minus committed; https://support.cloudextend.io/extendinsights-netsuite/en/articles/13848585 (location.id, location.name); https://cdn.cdata.com/help/DNM/ado/pg_SuiteQLtable-inventoryitemlocations.htm (the inventoryItemLocations SuiteQL table)",
    Q6: "github:ExploreConsulting/netsuite-fasttrack-toolkit-ss2 DataAccess/ItemFulfillmentBase.ts @1da3d46ec1e65e37761b149fb09924a0e9fb1e2a (the itemfulfillment record: createdfrom, the item sublist, the package sublist with packagetrackingnumber)",
  },
  unverified: [
    "transaction.lastmodifieddate on ItemShip rows changing when a tracking number is added to a fulfilment (the emulator stamps it; a real account may not)",
    "the sign of foreignamount on an invoice's tax lines (the connector takes the absolute value) and tax lines at all under SuiteTax",
    "inventoryitemlocations has no lastmodifieddate in any source: stock is read as a snapshot",
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
  },
} as const;
