#!/usr/bin/env node
// Fails when a module under src/core/ (tests aside) imports anything that can do I/O. core/ is pure logic:
// model, mapping, hashing, money, plan. Side effects belong behind the ports.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const CORE = resolve("src/core");
const ALLOWED_PACKAGES = new Set(["zod", "jsonata", "big.js", "node:crypto"]);
const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|(?:^|\n)\s*import\s*["']([^"']+)["']/g;

function* files(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(p);
    else if (p.endsWith(".ts") && !p.endsWith(".test.ts")) yield p;
  }
}

const problems = [];
for (const file of files(CORE)) {
  const text = readFileSync(file, "utf8");
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (spec.startsWith(".")) {
      const target = resolve(file, "..", spec);
      if (!target.startsWith(CORE)) problems.push(`${relative(".", file)} imports ${spec}, outside src/core`);
    } else if (!ALLOWED_PACKAGES.has(spec)) {
      problems.push(
        `${relative(".", file)} imports ${spec}; core may import only ${[...ALLOWED_PACKAGES].join(", ")}`,
      );
    }
  }
  if (/\bprocess\.(env|stdout|stderr|exit)|\bfetch\(/.test(text)) {
    problems.push(`${relative(".", file)} touches process or the network`);
  }
}
if (problems.length > 0) {
  console.error(`src/core must stay free of I/O:\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log("src/core is pure: no I/O imports.");
