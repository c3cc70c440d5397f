/**
 * The category tree from a real Tryton (`erp`, product.category) to a real Vendure (`shop`, collections),
 * with the products that are in them, through the CLI as a merchant runs it. Every assertion reads Vendure
 * back; which products a collection holds is asked of Vendure itself (`previewCollectionVariants` runs the
 * collection's filters), not inferred from what Passerelle sent.
 *
 *   first run     the products flow is listed before the categories flow in passerelle.yaml, and the
 *                 categories still run first: the tree is created, each product in its collections
 *   rename, move  a category renamed and another moved in Tryton: the same collections are renamed and
 *                 moved (ids and published slugs kept), no product is written, and they keep their links
 *   product moved a product moved to another category in Tryton moves between the collections
 *   language      a French name in Tryton, a channel without French: a failed record naming the language;
 *                 once the channel offers French, retrying it writes the French name
 *   cycle         Tryton itself refuses a category under its own descendant, so no cycle can come from it
 *                 (the engine's and the writers' refusal of one is tested on the emulators)
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  type StartedTryton,
  seedTryton,
  startTryton,
  type TrytonSession,
  trytonAvailable,
  trytonSession,
} from "../../scripts/real/tryton.mjs";
import { type RunningVendure, startVendure, vendureVersion } from "../../scripts/real/vendure.mjs";
import { passerelleYaml, runCli } from "../../scripts/real/vendure-passerelle.ts";
import { type VendureAdmin, vendureAdmin } from "../../scripts/real/vendure-shop.ts";

const ready = trytonAvailable();
const skip = !ready.ok ? ready.missing : vendureVersion() === null ? "@vendure/core is not installed" : false;

interface SyncRun {
  flow: string;
  status: string;
  counts: { created: number; updated: number; failed: number; skipped: number };
}

interface ShopCollection {
  id: string;
  name: string;
  slug: string;
  parentId: string;
  translations: { languageCode: string; name: string }[];
  filters: { code: string; args: { name: string; value: string }[] }[];
}

describe("categories from a real Tryton to a real Vendure", {
  skip: skip || false,
  timeout: 15 * 60_000,
}, () => {
  let dir: string;
  let erp: StartedTryton;
  let shop: RunningVendure;
  let session: TrytonSession;
  let admin: VendureAdmin;
  let env: NodeJS.ProcessEnv;
  const cat: Record<string, number> = {};
  let skus: string[] = [];
  let templates: number[] = [];

  async function sync(expectCode = 0): Promise<SyncRun[]> {
    const res = await runCli(["sync", "--json"], env).done;
    assert.equal(res.code, expectCode, `sync exit ${res.code}:\n${res.stdout}\n${res.stderr}`);
    return (JSON.parse(res.stdout) as { runs: SyncRun[] }).runs;
  }

  async function collections(): Promise<ShopCollection[]> {
    const data = await admin<{ collections: { items: ShopCollection[] } }>(
      `{collections(options:{take:100}){items{id name slug parentId translations{languageCode name} filters{code args{name value}}}}}`,
    );
    return data.collections.items;
  }

  async function collection(name: string): Promise<ShopCollection> {
    const all = await collections();
    const found = all.filter((c) => c.name === name);
    assert.equal(
      found.length,
      1,
      `collection ${name} is in Vendure ${found.length} times: ${all.map((c) => c.name)}`,
    );
    return found[0] as ShopCollection;
  }

  /** The SKUs Vendure puts in a collection, by running its own filters. */
  async function skusIn(name: string): Promise<string[]> {
    const c = await collection(name);
    const data = await admin<{ previewCollectionVariants: { items: { sku: string }[] } }>(
      `query($input:PreviewCollectionVariantsInput!){previewCollectionVariants(input:$input,options:{take:100}){items{sku}}}`,
      {
        input: {
          inheritFilters: false,
          filters: c.filters.map((f) => ({ code: f.code, arguments: f.args })),
        },
      },
    );
    return data.previewCollectionVariants.items.map((v) => v.sku).sort();
  }

  const run = (runs: SyncRun[], flow: string) => {
    const r = runs.find((x) => x.flow === flow);
    assert.ok(r, `no run of ${flow}: ${JSON.stringify(runs)}`);
    return r;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "passerelle-categories-real-"));
    [erp, shop] = await Promise.all([
      startTryton({ dir: join(dir, "erp") }),
      startVendure({ dir: join(dir, "shop") }),
    ]);
    session = await trytonSession(erp);
    admin = await vendureAdmin(shop);
    const seeded = await seedTryton(erp, { products: 3, variantsEvery: 0, prefix: "CAT", stock: 5 });
    templates = seeded.templates;
    skus = seeded.skus.slice().sort();
    [cat.Apparel, cat.Shoes, cat.Outlet] = (await session.create("product.category", [
      { name: "Apparel" },
      { name: "Shoes" },
      { name: "Outlet" },
    ])) as [number, number, number];
    [cat.Shirts] = (await session.create("product.category", [{ name: "Shirts", parent: cat.Apparel }])) as [
      number,
    ];
    const [t1, t2, t3] = templates as [number, number, number];
    await session.model("product.template", "write", [t1], { categories: [["add", [cat.Shirts]]] });
    await session.model("product.template", "write", [t2], { categories: [["add", [cat.Shoes]]] });
    await session.model("product.template", "write", [t3], {
      categories: [["add", [cat.Shirts, cat.Outlet]]],
    });
    const config = join(dir, "passerelle.yaml");
    writeFileSync(
      config,
      passerelleYaml({
        store: join(dir, "passerelle.sqlite"),
        erp,
        shopUrl: shop.url,
        shopUser: shop.adminUser,
        locationMap: { WH: "Main Warehouse" },
        // Products first on purpose: the categories flow must still run before them.
        flows: [
          { name: "products", entity: "product" },
          { name: "categories", entity: "category" },
        ],
      }),
    );
    env = {
      ...process.env,
      PASSERELLE_CONFIG: config,
      TRYTON_PASSWORD: erp.password,
      VENDURE_PASSWORD: shop.adminPassword,
      PASSERELLE_LOG_LEVEL: "warn",
    };
  });

  after(async () => {
    await Promise.all([erp?.stop(), shop?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("first run: categories before products; the tree in Vendure, each product in its collections", async () => {
    const runs = await sync();
    assert.deepEqual(
      runs.map((r) => r.flow),
      ["categories", "products"],
    );
    assert.equal(run(runs, "categories").counts.created, 4);
    assert.equal(run(runs, "products").counts.created, 3);
    assert.equal(run(runs, "products").counts.failed, 0);
    const [apparel, shirts, shoes, outlet] = await Promise.all(
      ["Apparel", "Shirts", "Shoes", "Outlet"].map((n) => collection(n)),
    );
    assert.equal(shirts?.parentId, apparel?.id, "Shirts is under Apparel");
    assert.equal(shoes?.parentId, apparel?.parentId, "Shoes is top-level");
    assert.equal(outlet?.parentId, apparel?.parentId, "Outlet is top-level");
    const [s1, s2, s3] = skus as [string, string, string];
    assert.deepEqual(await skusIn("Shirts"), [s1, s3].sort());
    assert.deepEqual(await skusIn("Shoes"), [s2]);
    assert.deepEqual(await skusIn("Outlet"), [s3]);
    // Settled: nothing is written again.
    const again = await sync();
    for (const r of again) assert.equal(r.counts.created + r.counts.updated, 0, `${r.flow} wrote again`);
  });

  test("rename and move: the same collections are renamed and moved, products keep their links", async () => {
    const before = await Promise.all(["Shirts", "Shoes"].map((n) => collection(n)));
    await session.model("product.category", "write", [cat.Shirts], { name: "T-Shirts" });
    await session.model("product.category", "write", [cat.Shoes], { parent: cat.Apparel });
    const runs = await sync();
    assert.equal(run(runs, "categories").counts.updated, 2);
    assert.equal(run(runs, "categories").counts.created, 0);
    assert.equal(run(runs, "products").counts.created + run(runs, "products").counts.updated, 0);
    const [tshirts, shoes, apparel] = await Promise.all(
      ["T-Shirts", "Shoes", "Apparel"].map((n) => collection(n)),
    );
    assert.equal(tshirts?.id, before[0]?.id, "renamed, not created again");
    assert.equal(tshirts?.slug, before[0]?.slug, "the published slug is kept");
    assert.equal(shoes?.id, before[1]?.id);
    assert.equal(shoes?.parentId, apparel?.id, "Shoes moved under Apparel");
    const [s1, s2, s3] = skus as [string, string, string];
    assert.deepEqual(await skusIn("T-Shirts"), [s1, s3].sort());
    assert.deepEqual(await skusIn("Shoes"), [s2]);
  });

  test("a product moved to another category in Tryton moves between the collections", async () => {
    const t2 = templates[1] as number;
    await session.model("product.template", "write", [t2], {
      categories: [
        ["remove", [cat.Shoes]],
        ["add", [cat.Outlet]],
      ],
    });
    const runs = await sync();
    assert.equal(run(runs, "products").counts.updated, 1);
    const [, s2, s3] = skus as [string, string, string];
    assert.deepEqual(await skusIn("Shoes"), []);
    assert.deepEqual(await skusIn("Outlet"), [s2, s3].sort());
  });

  test("a name in a language the channel does not offer fails the category, naming it; once offered, a retry writes it", async () => {
    const [fr] = await session.find("ir.lang", [["code", "=", "fr"]], ["id"]);
    assert.ok(fr, "Tryton has a French language record");
    await session.model("ir.lang", "write", [fr.id], { translatable: true });
    await session.callWith({ language: "fr" }, "model.product.category.write", [cat.Apparel], {
      name: "Vêtements",
    });
    const runs = await sync(1);
    assert.equal(run(runs, "categories").counts.failed, 1);
    const list = await runCli(["failures", "list", "--flow", "categories", "--json"], env).done;
    const [failure] = JSON.parse(list.stdout) as { id: number; key: string; errorMessage: string }[];
    assert.ok(failure, list.stdout);
    assert.equal(failure.key, String(cat.Apparel));
    assert.match(failure.errorMessage, /has a name in fr, which the Vendure channel does not offer/);
    assert.equal((await collection("Apparel")).translations.length, 1, "nothing written meanwhile");

    await admin(`mutation{updateGlobalSettings(input:{availableLanguages:[en,fr]}){__typename}}`);
    const { activeChannel } = await admin<{ activeChannel: { id: string } }>("{activeChannel{id}}");
    await admin(
      `mutation{updateChannel(input:{id:"${activeChannel.id}",availableLanguageCodes:[en,fr]}){__typename}}`,
    );
    const retried = await runCli(["failures", "retry", String(failure.id), "--json"], env).done;
    assert.equal(retried.code, 0, `${retried.stdout}\n${retried.stderr}`);
    const apparel = await collection("Apparel");
    assert.deepEqual(apparel.translations.map((t) => [t.languageCode, t.name]).sort(), [
      ["en", "Apparel"],
      ["fr", "Vêtements"],
    ]);
  });

  test("Tryton refuses a category under its own descendant, so no cycle can come from it", async () => {
    await assert.rejects(
      session.model("product.category", "write", [cat.Apparel], { parent: cat.Shirts }),
      /recursi/i,
    );
  });
});
