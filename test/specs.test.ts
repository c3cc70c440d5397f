/** The committed vendor specifications are the bytes specs/NOTICE.md names. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import {
  acumaticaSpecPath,
  acumaticaSpecSkip,
  BIGCOMMERCE_DOCUMENTS,
  bcDigestPath,
  bigcommerceSpecDir,
  bigcommerceSpecSkip,
  schemaPath as emulatorSchemaPath,
  FUSION_COLLECTIONS,
  fusionCollectionPath,
  fusionSpecSkip,
  magentoSpecPath,
  magentoSpecSkip,
  prestashopSpecDir,
  prestashopSpecs,
  S4_SERVICES,
  SFCC_APIS,
  s4SpecPath,
  s4SpecSkip,
  sapB1MetadataPath,
  sapB1SpecSkip,
  sfccSpecPath,
  sfccSpecSkip,
} from "@passerelle/emulators";
import { schemaPath } from "../src/connectors/shopify/schema.ts";

const ROOT = join(import.meta.dirname, "..");

test("every file in specs/NOTICE.md has the sha256 it lists, and both readers read it", () => {
  const all = readFileSync(join(ROOT, "specs/NOTICE.md"), "utf8");
  const notice = all.slice(0, all.indexOf("## Contracts read from beside the repository"));
  const rows = [...notice.matchAll(/^\|\s*`([^`]+)`\s*\|.*\|\s*`([0-9a-f]{64})`\s*\|$/gm)];
  assert.ok(rows.length > 0, "specs/NOTICE.md lists no file");
  for (const [, file, sha] of rows) {
    const bytes = readFileSync(join(ROOT, "specs", file as string));
    assert.equal(createHash("sha256").update(bytes).digest("hex"), sha, `specs/${file}`);
  }
  const shopify = join(ROOT, "specs/shopify/admin_2026-10.json.gz");
  if (!process.env.PASSERELLE_SPECS) {
    assert.equal(schemaPath(), shopify);
    assert.equal(emulatorSchemaPath(), shopify);
    assert.equal(bcDigestPath(), join(ROOT, "specs/business-central/apiv2-entities.json"));
  }
  if (!process.env.PASSERELLE_PRESTASHOP_SPECS) {
    assert.equal(prestashopSpecDir(), join(ROOT, "specs/prestashop"));
    const listed = rows.map((r) => r[1]).filter((f) => f?.startsWith("prestashop/"));
    assert.deepEqual(
      listed.sort(),
      [...prestashopSpecs().keys()].map((r) => `prestashop/${r}.json`).sort(),
      "every PrestaShop resource schema the emulator reads is listed",
    );
  }
});

test("the contracts read from ../shared/specs have the sha256 specs/NOTICE.md lists", () => {
  const notice = readFileSync(join(ROOT, "specs/NOTICE.md"), "utf8");
  const shared = notice.slice(notice.indexOf("## Contracts read from beside the repository"));
  const rows = [...shared.matchAll(/^\|\s*`([^`]+)`\s*\|.*\|\s*`([0-9a-f]{64})`\s*\|$/gm)];
  const readers: Record<string, { path: () => string; skip: () => string | false }> = {
    "magento/admin-schema-2.4.9.yaml": { path: magentoSpecPath, skip: magentoSpecSkip },
    "sap-b1/servicelayer_metadata_v4.xml": { path: sapB1MetadataPath, skip: sapB1SpecSkip },
  };
  readers["acumatica/Default_24.200.001.openapi.json"] = { path: acumaticaSpecPath, skip: acumaticaSpecSkip };
  for (const service of S4_SERVICES) {
    readers[`s4hana/${service}.edmx`] = { path: () => s4SpecPath(service), skip: s4SpecSkip };
  }
  for (const api of SFCC_APIS) {
    readers[`sfcc/${api}-oas-v1-public.yaml`] = { path: () => sfccSpecPath(api), skip: sfccSpecSkip };
  }
  for (const c of FUSION_COLLECTIONS) {
    readers[`oracle-fusion/${c}.postman_collection.json.gz`] = {
      path: () => fusionCollectionPath(c),
      skip: fusionSpecSkip,
    };
  }
  for (const f of BIGCOMMERCE_DOCUMENTS) {
    readers[`bigcommerce/${f}`] = { path: () => join(bigcommerceSpecDir(), f), skip: bigcommerceSpecSkip };
  }
  assert.deepEqual(rows.map((r) => r[1]).sort(), Object.keys(readers).sort());
  for (const [, file, sha] of rows) {
    const reader = readers[file as string];
    assert.ok(reader, `no reader for ${file}`);
    const why = reader.skip();
    if (why) {
      console.log(`# skipped ${file}: ${why}`);
      continue;
    }
    const bytes = readFileSync(reader.path());
    assert.equal(createHash("sha256").update(bytes).digest("hex"), sha, reader.path());
  }
});
