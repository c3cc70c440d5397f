import assert from "node:assert/strict";
import { test } from "node:test";
import type { Address, Customer } from "../../../core/model.ts";
import type { TrytonRow } from "../client.ts";
import { addressChanges, mechanismChanges } from "./customer.ts";

const row = (id: number, street: string, city: string, postal: string, country = "DE"): TrytonRow => ({
  id,
  street,
  city,
  postal_code: postal,
  "country.": { code: country },
});
const addr = (line1: string, city: string, postalCode: string, country = "DE"): Address => ({
  type: "both",
  line1,
  city,
  postalCode,
  country,
});

test("an address Tryton has is kept, an edited one is written in place, a new one added; others untouched", () => {
  const rows = [
    row(1, "Altstraße 1", "Berlin", "10115"),
    row(2, "Lagerweg 5", "Hamburg", "20095"),
    row(3, "Bergstraße 2", "München", "80331"),
  ];
  const plan = addressChanges(rows, [
    addr("Lagerweg 5", "Hamburg", "20095"), // the same
    addr("Neustraße 9", "Berlin", "10115"), // the street of 1, corrected
    addr("Rue de Rivoli 1", "Paris", "75001", "FR"), // new
  ]);
  assert.deepEqual(plan, { keep: [2], edit: [{ id: 1, index: 1 }], add: [2] });
});

test("an address that shares at most one part with the party's is new, not an edit", () => {
  const plan = addressChanges([row(1, "Altstraße 1", "Berlin", "10115")], [addr("Hafen 3", "Kiel", "24103")]);
  assert.deepEqual(plan, { keep: [], edit: [], add: [0] });
});

test("e-mail and phone are rewritten in place, created when missing, left alone when equal", () => {
  const customer = (email: string, phone?: string): Customer => ({
    source: "shop",
    sourceId: "1",
    updatedAt: "2026-01-01T00:00:00Z",
    key: email.toLowerCase(),
    email,
    lastName: "X",
    addresses: [],
    ...(phone ? { phone } : {}),
  });
  const rows: TrytonRow[] = [
    { id: 4, type: "email", value: "old@example.com" },
    { id: 5, type: "mobile", value: "+49 1" },
  ];
  assert.deepEqual(mechanismChanges(rows, customer("new@example.com", "+49 2")), [
    ["write", [4], { value: "new@example.com" }],
    ["write", [5], { value: "+49 2" }],
  ]);
  assert.deepEqual(mechanismChanges(rows, customer("OLD@example.com", "+49 1")), []);
  assert.deepEqual(mechanismChanges([], customer("a@example.com", "+1")), [
    ["create", [{ type: "email", value: "a@example.com" }]],
    ["create", [{ type: "phone", value: "+1" }]],
  ]);
  assert.deepEqual(
    mechanismChanges(rows, customer("old@example.com")),
    [],
    "a phone gone from the shop stays",
  );
});
