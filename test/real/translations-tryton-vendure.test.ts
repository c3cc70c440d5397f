/**
 * Product names and descriptions per language, from a real Tryton (`erp`, translatable product.template name
 * and product.product description) to a real Vendure (`shop`, product and variant translations), through the
 * CLI as a merchant runs it. Every assertion reads Vendure back.
 *
 *   language missing  a product translated into French and German, a channel offering English and French:
 *                     that product fails naming German, the untranslated one is written (the rest proceeds)
 *   offered           once the channel offers German, retrying the failed record writes the product with its
 *                     names and descriptions in all three languages, variant names included; a second sync
 *                     writes nothing
 *   edited            a French name edited in Tryton renames the product in French only, slugs kept
 *   default renamed   the English name changed in Tryton: Tryton marks the French and German names fuzzy
 *                     and answers the new name in those languages, and Vendure follows; a Spanish name the
 *                     merchant added in Vendure is left alone
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
  counts: { created: number; updated: number; failed: number; skipped: number };
}

interface ShopProduct {
  id: string;
  name: string;
  translations: { languageCode: string; name: string; slug: string; description: string }[];
  variants: { sku: string; translations: { languageCode: string; name: string }[] }[];
}

describe("product translations from a real Tryton to a real Vendure", {
  skip: skip || false,
  timeout: 15 * 60_000,
}, () => {
  let dir: string;
  let erp: StartedTryton;
  let shop: RunningVendure;
  let session: TrytonSession;
  let admin: VendureAdmin;
  let env: NodeJS.ProcessEnv;
  /** The translated template (three size variants) and its SKUs; the untranslated one's SKU. */
  let shirt = 0;
  let shirtSkus: string[] = [];
  let plainSku = "";
  let channelId = "";

  async function sync(expectCode = 0): Promise<SyncRun> {
    const res = await runCli(["sync", "--json"], env).done;
    assert.equal(res.code, expectCode, `sync exit ${res.code}:\n${res.stdout}\n${res.stderr}`);
    const runs = (JSON.parse(res.stdout) as { runs: SyncRun[] }).runs;
    const run = runs.find((r) => r.flow === "products");
    assert.ok(run, res.stdout);
    return run;
  }

  async function productOf(sku: string): Promise<ShopProduct | null> {
    const data = await admin<{ productVariants: { items: { product: { id: string } }[] } }>(
      `query($sku:String!){productVariants(options:{filter:{sku:{eq:$sku}}}){items{product{id}}}}`,
      { sku },
    );
    const id = data.productVariants.items[0]?.product.id;
    if (!id) return null;
    const p = await admin<{ product: ShopProduct }>(
      `query($id:ID!){product(id:$id){id name translations{languageCode name slug description} variants{sku translations{languageCode name}}}}`,
      { id },
    );
    return p.product;
  }

  const names = (p: ShopProduct) =>
    Object.fromEntries(p.translations.map((t) => [t.languageCode, t.name]).sort());

  async function offer(languages: string[]) {
    const list = languages.join(",");
    await admin(`mutation{updateGlobalSettings(input:{availableLanguages:[${list}]}){__typename}}`);
    await admin(
      `mutation{updateChannel(input:{id:"${channelId}",availableLanguageCodes:[${list}]}){__typename}}`,
    );
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "passerelle-translations-real-"));
    [erp, shop] = await Promise.all([
      startTryton({ dir: join(dir, "erp") }),
      startVendure({ dir: join(dir, "shop") }),
    ]);
    session = await trytonSession(erp);
    admin = await vendureAdmin(shop);
    const seeded = await seedTryton(erp, { products: 2, variantsEvery: 2, prefix: "LANG", stock: 5 });
    const rows = (await session.find(
      "product.product",
      [["template", "in", seeded.templates]],
      ["code", "template"],
    )) as { id: number; code: string; template: number }[];
    const count = (t: number) => rows.filter((r) => r.template === t).length;
    shirt = seeded.templates.find((t: number) => count(t) > 1) as number;
    const plain = seeded.templates.find((t: number) => count(t) === 1) as number;
    assert.ok(shirt && plain, `seeded one product with variants and one without: ${JSON.stringify(rows)}`);
    shirtSkus = rows.filter((r) => r.template === shirt).map((r) => r.code);
    plainSku = rows.find((r) => r.template === plain)?.code as string;
    const t1 = shirt;
    for (const code of ["fr", "de"]) {
      const [lang] = await session.find("ir.lang", [["code", "=", code]], ["id"]);
      assert.ok(lang, `Tryton has a ${code} language record`);
      await session.model("ir.lang", "write", [lang.id], { translatable: true });
    }
    const variants = await session.find("product.product", [["template", "=", t1]], ["id"]);
    await session.model(
      "product.product",
      "write",
      variants.map((v: { id: number }) => v.id),
      {
        description: "Soft cotton.",
      },
    );
    await session.callWith({ language: "fr" }, "model.product.template.write", [t1], {
      name: "Chemise en lin",
    });
    await session.callWith(
      { language: "fr" },
      "model.product.product.write",
      variants.map((v: { id: number }) => v.id),
      { description: "Coton doux." },
    );
    await session.callWith({ language: "de" }, "model.product.template.write", [t1], {
      name: "Leinenhemd",
    });
    const { activeChannel } = await admin<{ activeChannel: { id: string } }>("{activeChannel{id}}");
    channelId = activeChannel.id;
    await offer(["en", "fr"]);
    const config = join(dir, "passerelle.yaml");
    writeFileSync(
      config,
      passerelleYaml({
        store: join(dir, "passerelle.sqlite"),
        erp,
        shopUrl: shop.url,
        shopUser: shop.adminUser,
        locationMap: { WH: "Main Warehouse" },
        flows: [{ name: "products", entity: "product" }],
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

  test("a language the channel does not offer fails that product, naming it; the rest is written", async () => {
    const run = await sync(1);
    assert.equal(run.counts.failed, 1);
    assert.equal(run.counts.created, 1);
    const list = await runCli(["failures", "list", "--flow", "products", "--json"], env).done;
    const failures = JSON.parse(list.stdout) as { id: number; key: string; errorMessage: string }[];
    assert.equal(failures.length, 1, list.stdout);
    assert.match(
      failures[0]?.errorMessage ?? "",
      /has a title in de, which the Vendure channel does not offer/,
    );
    assert.equal(await productOf(shirtSkus[0] as string), null, "the failed product is not in Vendure");
    assert.ok(await productOf(plainSku), "the untranslated product is in Vendure");
  });

  test("once German is offered, the retry writes every language, variant names included; then nothing", async () => {
    await offer(["en", "fr", "de"]);
    const list = await runCli(["failures", "list", "--flow", "products", "--json"], env).done;
    const [failure] = JSON.parse(list.stdout) as { id: number }[];
    assert.ok(failure, list.stdout);
    const retried = await runCli(["failures", "retry", String(failure.id), "--json"], env).done;
    assert.equal(retried.code, 0, `${retried.stdout}\n${retried.stderr}`);
    const p = await productOf(shirtSkus[0] as string);
    assert.ok(p, "the translated product is in Vendure");
    const en = p.translations.find((t) => t.languageCode === "en");
    assert.deepEqual(names(p), { de: "Leinenhemd", en: en?.name, fr: "Chemise en lin" });
    assert.notEqual(en?.name, "Chemise en lin");
    const byLang = Object.fromEntries(p.translations.map((t) => [t.languageCode, t]));
    assert.equal(byLang.fr?.description, "Coton doux.");
    assert.equal(byLang.en?.description, "Soft cotton.");
    // German has a name of its own and no description of its own: Tryton answers the default one.
    assert.equal(byLang.de?.description, "Soft cotton.");
    assert.equal(p.variants.length, 3);
    for (const v of p.variants) {
      // Tryton names a variant by its suffix (the size), the same in every language.
      const name = (l: string) => v.translations.find((t) => t.languageCode === l)?.name;
      assert.ok(name("fr"), `variant ${v.sku} has a French name: ${JSON.stringify(v)}`);
      assert.equal(name("fr"), name("en"));
    }
    const again = await sync();
    assert.equal(again.counts.created + again.counts.updated + again.counts.failed, 0, JSON.stringify(again));
  });

  test("a French name edited in Tryton renames the product in French only, slugs kept", async () => {
    const before = await productOf(shirtSkus[0] as string);
    assert.ok(before);
    await session.callWith({ language: "fr" }, "model.product.template.write", [shirt], {
      name: "Chemise en lin bleue",
    });
    const run = await sync();
    assert.equal(run.counts.updated, 1, JSON.stringify(run));
    const after = await productOf(shirtSkus[0] as string);
    assert.ok(after);
    assert.equal(after.id, before.id);
    assert.deepEqual(names(after), { ...names(before), fr: "Chemise en lin bleue" });
    const slugs = (p: ShopProduct) => Object.fromEntries(p.translations.map((t) => [t.languageCode, t.slug]));
    assert.deepEqual(slugs(after), slugs(before));
  });

  test("a renamed default: the shop shows each language as Tryton does; a Spanish name the merchant added stays", async () => {
    await offer(["en", "fr", "de", "es"]);
    const p = await productOf(shirtSkus[0] as string);
    assert.ok(p);
    await admin(`mutation($input:UpdateProductInput!){updateProduct(input:$input){id}}`, {
      input: {
        id: p.id,
        translations: [{ languageCode: "es", name: "Camisa de lino", slug: "camisa", description: "" }],
      },
    });
    await session.model("product.template", "write", [shirt], { name: "Linen shirt" });
    const run = await sync();
    assert.equal(run.counts.updated, 1, JSON.stringify(run));
    const after = await productOf(shirtSkus[0] as string);
    assert.ok(after);
    assert.equal(names(after).es, "Camisa de lino");
    assert.equal(names(after).en, "Linen shirt");
    // Tryton marks the other languages' names of a changed text fuzzy and answers the new default text for
    // them until a translator confirms: the shop shows what Tryton shows in each language.
    const trytonName = async (language: string) => {
      const [row] = (await session.callWith(
        { language },
        "model.product.template.read",
        [shirt],
        ["name"],
      )) as { name: string }[];
      return row?.name;
    };
    assert.equal(names(after).fr, await trytonName("fr"));
    assert.equal(names(after).de, await trytonName("de"));
  });
});
