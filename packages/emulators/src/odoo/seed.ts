/**
 * Deterministic demo data for the emulator: a catalogue by category with 1–4 variants per product,
 * three customer-group price lists with tier breaks, stock in two warehouses, customers with addresses,
 * and a few historical sales (some shipped with tracking, some invoiced).
 */
import { type Rng, rng } from "../util.ts";
import { type OdooDb, odooDatetime } from "./db.ts";
import { invoiceOrder, payInvoice, round2, uninstallMrp } from "./models.ts";

export interface SeedOptions {
  seed: number;
  products: number;
  customers: number;
  orders: number;
}

/** Seeded records carry fixed timestamps so two emulators with one seed hold identical data. */
const SEED_EPOCH = Date.UTC(2024, 0, 15, 8, 0, 0);
const at = (minutes: number) => odooDatetime(new Date(SEED_EPOCH + minutes * 60_000));

interface Kind {
  label: string;
  code: string;
  min: number;
  max: number;
  weight: number;
}
interface Category {
  name: string;
  kinds: Kind[];
  materials: string[];
  sizes: string[];
  colours: string[];
}

const CATEGORIES: Category[] = [
  {
    name: "Apparel",
    kinds: [
      { label: "T-Shirt", code: "TEE", min: 15, max: 35, weight: 0.2 },
      { label: "Hoodie", code: "HOOD", min: 45, max: 85, weight: 0.6 },
      { label: "Polo Shirt", code: "POLO", min: 29, max: 55, weight: 0.3 },
      { label: "Sweatshirt", code: "SWT", min: 39, max: 69, weight: 0.5 },
      { label: "Socks", code: "SOCK", min: 8, max: 16, weight: 0.1 },
    ],
    materials: ["Organic Cotton", "Merino", "Linen Blend", "Recycled", "Heavyweight"],
    sizes: ["XS", "S", "M", "L", "XL"],
    colours: ["Red", "Navy", "Black", "White", "Green", "Grey"],
  },
  {
    name: "Home",
    kinds: [
      { label: "Mug", code: "MUG", min: 9, max: 19, weight: 0.4 },
      { label: "Cushion Cover", code: "CUSH", min: 19, max: 39, weight: 0.3 },
      { label: "Scented Candle", code: "CNDL", min: 14, max: 32, weight: 0.5 },
      { label: "Throw Blanket", code: "BLKT", min: 49, max: 110, weight: 1.2 },
      { label: "Table Lamp", code: "TLMP", min: 39, max: 120, weight: 1.8 },
    ],
    materials: ["Stoneware", "Linen", "Soy Wax", "Wool", "Oak"],
    sizes: [],
    colours: ["Sand", "Sage", "Terracotta", "Ivory", "Charcoal"],
  },
  {
    name: "Outdoor",
    kinds: [
      { label: "Backpack", code: "BPCK", min: 59, max: 149, weight: 1.1 },
      { label: "Water Bottle", code: "BTL", min: 14, max: 34, weight: 0.3 },
      { label: "Tent", code: "TENT", min: 129, max: 399, weight: 2.9 },
      { label: "Headlamp", code: "HLMP", min: 19, max: 59, weight: 0.1 },
      { label: "Sleeping Bag", code: "SLBG", min: 79, max: 229, weight: 1.5 },
    ],
    materials: ["Ripstop", "Stainless", "Ultralight", "Waterproof", "Trail"],
    sizes: ["S", "M", "L"],
    colours: ["Orange", "Olive", "Blue", "Black"],
  },
  {
    name: "Accessories",
    kinds: [
      { label: "Cap", code: "CAP", min: 15, max: 29, weight: 0.1 },
      { label: "Tote Bag", code: "TOTE", min: 12, max: 29, weight: 0.2 },
      { label: "Wallet", code: "WLT", min: 25, max: 79, weight: 0.1 },
      { label: "Scarf", code: "SCRF", min: 19, max: 59, weight: 0.2 },
    ],
    materials: ["Canvas", "Leather", "Cashmere", "Cork", "Denim"],
    sizes: [],
    colours: ["Tan", "Black", "Camel", "Indigo", "Burgundy"],
  },
];

const ADJECTIVES = [
  "Alpine",
  "Coastal",
  "Urban",
  "Nordic",
  "Classic",
  "Everyday",
  "Heritage",
  "Summit",
  "Meadow",
  "Harbour",
  "Vintage",
  "Essential",
  "Riviera",
  "Atlas",
  "Glacier",
  "Orchard",
];

const COUNTRIES: {
  code: string;
  name: string;
  tld: string;
  cities: [string, string][];
  streets: string[];
}[] = [
  {
    code: "FR",
    name: "France",
    tld: "fr",
    cities: [
      ["Paris", "75011"],
      ["Lyon", "69002"],
      ["Nantes", "44000"],
      ["Lille", "59000"],
      ["Bordeaux", "33000"],
    ],
    streets: ["rue de la République", "avenue Jean Jaurès", "boulevard Voltaire", "rue Victor Hugo"],
  },
  {
    code: "DE",
    name: "Germany",
    tld: "de",
    cities: [
      ["Berlin", "10115"],
      ["München", "80331"],
      ["Hamburg", "20095"],
      ["Köln", "50667"],
    ],
    streets: ["Hauptstraße", "Bahnhofstraße", "Schillerstraße", "Gartenweg"],
  },
  {
    code: "BE",
    name: "Belgium",
    tld: "be",
    cities: [
      ["Bruxelles", "1000"],
      ["Gent", "9000"],
      ["Liège", "4000"],
      ["Antwerpen", "2000"],
    ],
    streets: ["rue Neuve", "Meir", "Veldstraat", "rue Saint-Gilles"],
  },
  {
    code: "NL",
    name: "Netherlands",
    tld: "nl",
    cities: [
      ["Amsterdam", "1012 AB"],
      ["Utrecht", "3511 AA"],
      ["Rotterdam", "3011 AD"],
    ],
    streets: ["Kalverstraat", "Oudegracht", "Coolsingel"],
  },
  {
    code: "ES",
    name: "Spain",
    tld: "es",
    cities: [
      ["Madrid", "28013"],
      ["Barcelona", "08002"],
      ["Valencia", "46001"],
    ],
    streets: ["Calle Mayor", "Gran Vía", "Carrer de Balmes"],
  },
  {
    code: "IT",
    name: "Italy",
    tld: "it",
    cities: [
      ["Milano", "20121"],
      ["Roma", "00184"],
      ["Torino", "10121"],
    ],
    streets: ["Via Roma", "Corso Vittorio Emanuele", "Via Garibaldi"],
  },
];
const COUNTRY_WEIGHTS = ["FR", "FR", "FR", "FR", "DE", "DE", "BE", "BE", "NL", "ES", "IT"];
const FIRST = [
  "Camille",
  "Lucas",
  "Léa",
  "Hugo",
  "Emma",
  "Jonas",
  "Sophie",
  "Luca",
  "Marie",
  "Noah",
  "Anna",
  "Julien",
  "Clara",
  "Pablo",
  "Giulia",
  "Thomas",
  "Inès",
  "Max",
  "Chloé",
  "Sven",
];
const LAST = [
  "Martin",
  "Bernard",
  "Dubois",
  "Schmidt",
  "Müller",
  "Peeters",
  "Janssens",
  "de Vries",
  "García",
  "Rossi",
  "Lefebvre",
  "Moreau",
  "Fischer",
  "Weber",
  "Laurent",
  "Bianchi",
  "Jansen",
  "Fournier",
  "Girard",
  "Keller",
];
const COMPANY_WORDS = [
  "Maison",
  "Atelier",
  "Boutique",
  "Concept Store",
  "Outdoor Hub",
  "Casa",
  "Haus",
  "Studio",
];
const COMPANY_FORMS: Record<string, string> = {
  FR: "SARL",
  DE: "GmbH",
  BE: "SRL",
  NL: "B.V.",
  ES: "S.L.",
  IT: "S.r.l.",
};

function slug(s: string): string {
  return s
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
}

function ean13(n: number): string {
  const body = `200${String(n).padStart(9, "0")}`;
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(body[i]) * (i % 2 === 0 ? 1 : 3);
  return `${body}${(10 - (sum % 10)) % 10}`;
}

function shuffled<T>(r: Rng, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = r.int(0, i);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

export interface SeedRefs {
  taxes: { standard: number; zero: number; included: number };
  pricelists: number[];
  warehouses: number[];
  ship: number;
  discount: number;
  /** delivery.carrier ids: Colissimo, DHL Express. */
  carriers: [number, number];
}

export function seed(db: OdooDb, opts: SeedOptions): SeedRefs {
  const r = rng(opts.seed);
  db.freeze(at(0));
  const eur = db.create("res.currency", { name: "EUR", symbol: "€", decimal_places: 2 });
  db.create("res.currency", { name: "USD", symbol: "$", decimal_places: 2 });
  const countryIds = new Map<string, number>();
  for (const c of [
    ...COUNTRIES,
    { code: "GB", name: "United Kingdom" },
    { code: "US", name: "United States" },
  ]) {
    countryIds.set(c.code, db.create("res.country", { code: c.code, name: c.name }));
  }
  const standard = db.create("account.tax", { name: "20%", amount: 20, price_include: false });
  const zero = db.create("account.tax", { name: "0%", amount: 0, price_include: false });
  const included = db.create("account.tax", { name: "20% (incl.)", amount: 20, price_include: true });
  const size = db.create("product.attribute", { name: "Size" });
  const colour = db.create("product.attribute", { name: "Colour" });

  const all = db.create("product.category", { name: "All" });
  const catIds = CATEGORIES.map((c) => db.create("product.category", { name: c.name, parent_id: all }));
  const services = db.create("product.category", { name: "Services", parent_id: all });

  const pricelists = [
    db.create("product.pricelist", { name: "Retail EUR", currency_id: eur }),
    db.create("product.pricelist", { name: "Wholesale EUR", currency_id: eur }),
    db.create("product.pricelist", { name: "VIP EUR", currency_id: eur }),
  ] as [number, number, number];

  const view = (name: string) => db.create("stock.location", { name, usage: "view" });
  const warehouses: number[] = [];
  const stockLocations: number[] = [];
  for (const [code, name] of [
    ["WH", "Main Warehouse"],
    ["WH2", "East Warehouse"],
  ] as const) {
    const v = view(code);
    const stock = db.create("stock.location", { name: "Stock", location_id: v, usage: "internal" });
    stockLocations.push(stock);
    warehouses.push(db.create("stock.warehouse", { name, code, lot_stock_id: stock, view_location_id: v }));
  }
  const partners = view("Partners");
  db.create("stock.location", { name: "Customers", location_id: partners, usage: "customer" });

  const counters = new Map<string, number>();
  const variantIds: number[] = [];
  let barcode = 1;
  for (let i = 0; i < opts.products; i++) {
    const cat = CATEGORIES[i % CATEGORIES.length] as Category;
    const kind = r.pick(cat.kinds);
    const n = (counters.get(kind.code) ?? 0) + 1;
    counters.set(kind.code, n);
    const code = `${kind.code}-${String(n).padStart(4, "0")}`;
    const material = r.pick(cat.materials);
    const name = `${r.pick(ADJECTIVES)} ${material} ${kind.label}`;
    const price = round2(r.int(kind.min * 100, kind.max * 100) / 100 - (r.chance(0.6) ? 0.01 : 0));
    const tmpl = db.create("product.template", {
      name,
      default_code: code,
      list_price: Math.max(1, Math.floor(price)) + (r.chance(0.7) ? 0.9 : 0),
      description_sale: `${name}. ${material} ${kind.label.toLowerCase()} from our ${cat.name.toLowerCase()} range.`,
      categ_id: catIds[CATEGORIES.indexOf(cat)],
      weight: round2(kind.weight * (0.8 + r.next() * 0.4)),
      taxes_id: [[6, 0, [standard]]],
    });
    const combos: { size?: string; colour: string }[] = [];
    for (const c of cat.colours) {
      if (cat.sizes.length === 0) combos.push({ colour: c });
      else for (const s of cat.sizes) combos.push({ size: s, colour: c });
    }
    const count = r.int(1, 4);
    // Sized products come in one colour and several sizes; the others in several colours.
    const colourOfTemplate = r.pick(cat.colours);
    const pool = cat.sizes.length > 0 ? combos.filter((c) => c.colour === colourOfTemplate) : combos;
    const chosen = count === 1 ? [] : shuffled(r, pool).slice(0, count);
    chosen.sort((a, b) => combos.indexOf(a) - combos.indexOf(b));
    const ptav = new Map<string, number>();
    const valueId = (attr: number, value: string, extra: number) => {
      const k = `${attr}:${value}`;
      let v = ptav.get(k);
      if (v === undefined) {
        v = db.create("product.template.attribute.value", {
          name: value,
          attribute_id: attr,
          product_tmpl_id: tmpl,
          price_extra: extra,
        });
        ptav.set(k, v);
      }
      return v;
    };
    if (chosen.length === 0) {
      variantIds.push(
        db.create("product.product", {
          product_tmpl_id: tmpl,
          default_code: code,
          barcode: ean13(barcode++),
        }),
      );
    }
    for (const c of chosen) {
      const extra = c.size === "XL" ? 2 : 0;
      const values = [...(c.size ? [valueId(size, c.size, extra)] : []), valueId(colour, c.colour, 0)];
      const sku = [code, ...(c.size ? [c.size] : []), c.colour.toUpperCase()].join("-");
      variantIds.push(
        db.create("product.product", {
          product_tmpl_id: tmpl,
          default_code: sku,
          barcode: ean13(barcode++),
          product_template_attribute_value_ids: [[6, 0, values]],
        }),
      );
    }
  }
  const ship = serviceProduct(db, "SHIP", "Standard Shipping", 5.9, services, [standard]);
  const discount = serviceProduct(db, "DISCOUNT", "Discount", 0, services, []);
  const carriers: [number, number] = [
    db.create("delivery.carrier", {
      name: "Colissimo",
      product_id: ship,
      tracking_url: "https://www.laposte.fr/outils/suivre-vos-envois?code=<shipmenttrackingnumber>",
    }),
    db.create("delivery.carrier", {
      name: "DHL Express",
      product_id: ship,
      tracking_url:
        "https://www.dhl.com/fr-en/home/tracking/tracking-express.html?submit=1&tracking-id=<shipmenttrackingnumber>",
    }),
  ];

  for (const v of variantIds) {
    const row = db.row("product.product", v);
    const lst = db.readField("product.product", row as NonNullable<typeof row>, "lst_price") as number;
    const item = (pl: number, price: number, minQty = 0) =>
      db.create("product.pricelist.item", {
        pricelist_id: pl,
        product_id: v,
        applied_on: "0_product_variant",
        compute_price: "fixed",
        fixed_price: round2(price),
        min_quantity: minQty,
      });
    item(pricelists[0], lst);
    item(pricelists[1], lst * 0.7);
    if (r.chance(0.5)) item(pricelists[1], lst * 0.65, 10);
    item(pricelists[2], lst * 0.9);
    if (r.chance(0.2)) item(pricelists[2], lst * 0.85, 10);
    for (const loc of stockLocations) {
      const quantity = r.chance(0.15) ? 0 : r.int(1, 120);
      const reserved = quantity > 0 && r.chance(0.25) ? r.int(1, Math.min(quantity, 5)) : 0;
      db.create("stock.quant", { product_id: v, location_id: loc, quantity, reserved_quantity: reserved });
    }
  }
  // A kit (Manufacturing's BoM of type phantom): a gift set of two units of the next-to-last variant and one
  // of the last, stocked in both warehouses. It has no stock of its own; its level is derived from theirs.
  // (The last variants, not the first: their quants are not the first records of the inventory stream.)
  const [first, second] = variantIds.slice(-2);
  if (variantIds.length >= 2 && first !== undefined && second !== undefined) {
    const giftSet = db.create("product.template", {
      name: "Gift set",
      default_code: "GIFT-SET",
      list_price: 49.9,
      description_sale: "Gift set. Two of our bestseller and one of its companion, boxed.",
      categ_id: catIds[0],
      taxes_id: [[6, 0, [standard]]],
    });
    db.create("product.product", {
      product_tmpl_id: giftSet,
      default_code: "GIFT-SET",
      barcode: ean13(barcode++),
    });
    db.create("mrp.bom", {
      product_tmpl_id: giftSet,
      type: "phantom",
      product_qty: 1,
      bom_line_ids: [
        [0, 0, { product_id: first, product_qty: 2 }],
        [0, 0, { product_id: second, product_qty: 1 }],
      ],
    });
  }

  db.freeze(at(60));
  const customers: number[] = [];
  const usedEmails = new Set<string>();
  for (let i = 0; i < opts.customers; i++) {
    const country =
      COUNTRIES.find((c) => c.code === r.pick(COUNTRY_WEIGHTS)) ??
      (COUNTRIES[0] as (typeof COUNTRIES)[number]);
    const [city, zip] = r.pick(country.cities);
    const address = () => ({
      street: `${r.int(1, 180)} ${r.pick(country.streets)}`,
      city,
      zip,
      country_id: countryIds.get(country.code),
    });
    const company = i % 10 >= 7;
    const first = r.pick(FIRST);
    const last = r.pick(LAST);
    const name = company
      ? `${r.pick(COMPANY_WORDS)} ${last} ${COMPANY_FORMS[country.code]}`
      : `${first} ${last}`;
    const baseEmail = company
      ? `contact@${slug(name)}.example.${country.tld}`
      : `${slug(first)}.${slug(last)}@example.${country.tld}`;
    let email = baseEmail;
    for (let k = 2; usedEmails.has(email); k++) email = baseEmail.replace("@", `${k}@`);
    usedEmails.add(email);
    const pricelist = company
      ? r.chance(0.6)
        ? pricelists[1]
        : pricelists[2]
      : r.chance(0.1)
        ? pricelists[2]
        : pricelists[0];
    const children: unknown[] = [];
    if (company) children.push([0, 0, { type: "invoice", name: "Accounting", email: false, ...address() }]);
    if (r.chance(0.3))
      children.push([
        0,
        0,
        {
          type: "delivery",
          name: company ? "Warehouse" : `${first} ${last}`,
          ...address(),
          street2: r.chance(0.5) ? `Bâtiment ${r.pick(["A", "B", "C"])}` : false,
        },
      ]);
    customers.push(
      db.create("res.partner", {
        name,
        email,
        phone: `+${r.int(30, 49)} ${r.int(100, 999)} ${r.int(100, 999)} ${r.int(100, 999)}`,
        is_company: company,
        type: "contact",
        ...address(),
        property_product_pricelist: pricelist,
        child_ids: children,
      }),
    );
  }

  for (let i = 0; i < opts.orders && customers.length > 0 && variantIds.length > 0; i++) {
    db.freeze(at(120 + i * 37));
    const partner = r.pick(customers);
    const lines: unknown[] = [];
    const picked = new Set<number>();
    for (let k = r.int(1, 3); k > 0; k--) {
      const v = r.pick(variantIds);
      if (picked.has(v)) continue;
      picked.add(v);
      lines.push([0, 0, { product_id: v, product_uom_qty: r.int(1, 3) }]);
    }
    if (r.chance(0.7)) lines.push([0, 0, { product_id: ship, is_delivery: true }]);
    const order = db.create("sale.order", {
      partner_id: partner,
      client_order_ref: r.chance(0.3) ? false : `PO-${2024_000 + i}`,
      order_line: lines,
    });
    db.methods.get("sale.order")?.get("action_confirm")?.(db, [order], {});
    const picking = db.rows("stock.picking").find((p) => p.sale_id === order);
    if (picking && i % 4 !== 3) {
      db.freeze(at(120 + i * 37 + 600));
      db.write("stock.picking", [picking.id], {
        carrier_tracking_ref: `1Z${String(900000 + i * 7919).padStart(10, "0")}`,
        carrier_id: carriers[i % 2],
      });
      // The warehouse ships every line in full (setting the quantities itself where stock was short).
      for (const m of db.rows("stock.move").filter((x) => x.picking_id === picking.id)) {
        db.write("stock.move", [m.id], { quantity: m.product_uom_qty });
      }
      db.methods.get("stock.picking")?.get("button_validate")?.(db, [picking.id], {});
    }
    if (i % 3 !== 2) {
      db.freeze(at(120 + i * 37 + 900));
      const invoice = invoiceOrder(db, order);
      if (i % 2 === 0) payInvoice(db, invoice);
    }
  }
  db.freeze(null);
  return { taxes: { standard, zero, included }, pricelists, warehouses, ship, discount, carriers };
}

function serviceProduct(
  db: OdooDb,
  code: string,
  name: string,
  price: number,
  categ: number,
  taxes: number[],
): number {
  const tmpl = db.create("product.template", {
    name,
    default_code: code,
    list_price: price,
    type: "service",
    categ_id: categ,
    taxes_id: [[6, 0, taxes]],
  });
  return db.create("product.product", { product_tmpl_id: tmpl, default_code: code });
}

/**
 * A database as a fresh Odoo 17 with sales, stock, accounting and delivery installed makes it (the real
 * kit's template): the company currency USD, countries, one 15 % sale tax that new products take, one
 * warehouse WH, the customers' location, the standard delivery method; no products, customers or sales.
 * The parity test (test/real/odoo-parity.test.ts) seeds it and a real Odoo through the same calls.
 */
export function seedFresh(db: OdooDb): SeedRefs {
  // Manufacturing (mrp) is not installed there: no bills of materials, no kits.
  uninstallMrp(db);
  db.create("res.currency", { name: "USD", symbol: "$", decimal_places: 2, rounding: 0.01 });
  db.create("res.currency", { name: "EUR", symbol: "€", decimal_places: 2, rounding: 0.01 });
  for (const c of [
    ...COUNTRIES,
    { code: "GB", name: "United Kingdom" },
    { code: "US", name: "United States" },
  ]) {
    db.create("res.country", { code: c.code, name: c.name });
  }
  // The company's partner and the administrator's, as a new database has them.
  db.create("res.partner", { name: "My Company", is_company: true });
  const admin = db.create("res.partner", { name: "Administrator", email: "admin@example.com" });
  for (const u of db.rows("res.users")) db.write("res.users", [u.id], { partner_id: admin });
  const standard = db.create("account.tax", { name: "15%", amount: 15, price_include: false });
  db.settings.saleTaxes = [standard];
  const physical = db.create("stock.location", { name: "Physical Locations", usage: "view" });
  const partners = db.create("stock.location", { name: "Partners", usage: "view" });
  db.create("stock.location", { name: "Customers", location_id: partners, usage: "customer" });
  const view = db.create("stock.location", { name: "WH", usage: "view" });
  const stock = db.create("stock.location", { name: "Stock", location_id: view, usage: "internal" });
  void physical;
  const wh = db.create("stock.warehouse", {
    name: "My Company",
    code: "WH",
    lot_stock_id: stock,
    view_location_id: view,
  });
  const tmpl = db.create("product.template", {
    name: "Standard delivery",
    type: "service",
    detailed_type: "service",
    list_price: 0,
    taxes_id: [standard],
  });
  const ship = db.create("product.product", { product_tmpl_id: tmpl, default_code: "Delivery_007" });
  const carrier = db.create("delivery.carrier", { name: "Standard delivery", product_id: ship });
  return {
    taxes: { standard, zero: standard, included: standard },
    pricelists: [],
    warehouses: [wh],
    ship,
    discount: ship,
    carriers: [carrier, carrier],
  };
}
