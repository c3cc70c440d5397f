import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  amount,
  bigOf,
  changedAt,
  dateTimeValue,
  dateValue,
  decimal,
  isoDateOf,
  isoOf,
  maxIso,
} from "./codec.ts";

describe("tryton value codec", () => {
  test("decimals travel as tagged strings; anything else is refused", () => {
    assert.deepEqual(decimal("19.90"), { __class__: "Decimal", decimal: "19.90" });
    assert.deepEqual(decimal(-3), { __class__: "Decimal", decimal: "-3" });
    assert.throws(() => decimal("1e3"), /not a decimal number: "1e3"/);
    assert.throws(() => decimal("12,50"), /not a decimal number/);
  });

  test("datetimes: ISO → Tryton (UTC) → ISO keeps the instant to the millisecond", () => {
    const v = dateTimeValue("2024-01-31T23:30:05.123+01:00");
    assert.deepEqual(v, {
      __class__: "datetime",
      year: 2024,
      month: 1,
      day: 31,
      hour: 22,
      minute: 30,
      second: 5,
      microsecond: 123000,
    });
    assert.equal(isoOf(v), "2024-01-31T22:30:05.123Z");
  });

  test("microseconds are truncated, never rounded up (a cursor must not move past a stored instant)", () => {
    const stored = {
      __class__: "datetime",
      year: 2026,
      month: 11,
      day: 27,
      hour: 14,
      minute: 32,
      second: 53,
      microsecond: 999999,
    };
    assert.equal(isoOf(stored), "2026-11-27T14:32:53.999Z");
    assert.ok(Date.parse(isoOf(stored) as string) <= Date.UTC(2026, 10, 27, 14, 32, 53, 999));
  });

  test("dates", () => {
    assert.deepEqual(dateValue("2024-02-29T10:00:00Z"), { __class__: "date", year: 2024, month: 2, day: 29 });
    assert.equal(isoDateOf({ __class__: "date", year: 2024, month: 2, day: 9 }), "2024-02-09");
    assert.equal(isoDateOf(null), undefined);
    assert.throws(() => dateValue("31/01/2024"), /not an ISO date/);
  });

  test("amounts: canonical decimal strings with 2 to 4 decimals", () => {
    assert.equal(amount({ __class__: "Decimal", decimal: "18.000000000000" }), "18.00");
    assert.equal(amount({ __class__: "Decimal", decimal: "22.5" }), "22.50");
    assert.equal(amount({ __class__: "Decimal", decimal: "9.12345" }), "9.1235");
    assert.equal(amount({ __class__: "Decimal", decimal: "9.12345" }, 2, 2), "9.12");
    assert.equal(amount({ __class__: "Decimal", decimal: "-0.001" }, 2, 2), "0.00");
    assert.equal(amount({ __class__: "Decimal", decimal: "-4.5" }), "-4.50");
    assert.equal(amount(null), undefined);
    assert.equal(bigOf(3)?.toString(), "3");
  });

  test("a record's last change: write_date, or create_date while it was never written", () => {
    const created = {
      __class__: "datetime",
      year: 2026,
      month: 1,
      day: 2,
      hour: 3,
      minute: 4,
      second: 5,
      microsecond: 0,
    };
    const written = { ...created, day: 3 };
    assert.equal(changedAt({ write_date: null, create_date: created }), "2026-01-02T03:04:05.000Z");
    assert.equal(changedAt({ write_date: written, create_date: created }), "2026-01-03T03:04:05.000Z");
    assert.equal(changedAt({ write_date: null, create_date: null }), undefined);
    assert.equal(
      maxIso(undefined, "2026-01-01T00:00:00Z", "2026-01-01T00:00:00.5Z"),
      "2026-01-01T00:00:00.5Z",
    );
  });
});
