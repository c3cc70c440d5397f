import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { rng } from "../util.ts";
import { OdooDb } from "./db.ts";

/** Number of top-level expressions of a prefix-notation domain. */
function expressions(domain: unknown[]): number {
  let pos = 0;
  const skip = (): void => {
    const item = domain[pos++];
    if (item === "&" || item === "|") {
      skip();
      skip();
    } else if (item === "!") skip();
  };
  let n = 0;
  while (pos < domain.length) {
    skip();
    n++;
  }
  return n;
}

/** The same domain as one node behind an OR with a term no row matches: no index can read it, so search scans. */
function unindexable(domain: unknown[]): unknown[] {
  if (domain.length === 0) return ["!", ["id", "=", -1]];
  const ands = Array.from({ length: expressions(domain) - 1 }, () => "&");
  return ["|", ...ands, ...domain, ["id", "=", -1]];
}

function seeded(): OdooDb {
  const db = new OdooDb();
  db.define("x.parent", { fields: { name: { type: "char" } } });
  db.define("x.child", {
    fields: {
      name: { type: "char" },
      parent_id: { type: "many2one", relation: "x.parent" },
      qty: { type: "integer" },
    },
  });
  db.define("x.holder", {
    fields: {
      name: { type: "char" },
      kid_ids: { type: "one2many", relation: "x.kid", inverse: "holder_id" },
    },
  });
  db.define("x.kid", {
    fields: { name: { type: "char" }, holder_id: { type: "many2one", relation: "x.holder" } },
  });
  const r = rng(7);
  const seconds = ["2030-01-01 00:00:00", "2030-01-01 00:00:01", "2030-01-01 00:00:02"];
  for (let i = 0; i < 20; i++) db.create("x.parent", { name: `p${i}` });
  for (let i = 0; i < 400; i++) {
    db.freeze(r.pick(seconds));
    db.create("x.child", {
      name: `c${i}`,
      parent_id: r.chance(0.9) ? r.int(1, 20) : false,
      qty: r.int(0, 9),
    });
  }
  db.unlink("x.child", [5, 6, 7]);
  // Build the indexes, then change rows: rewrites move rows in (write_date, id) order, the index must follow.
  db.search("x.child", [], { order: "write_date asc, id asc", limit: 1 });
  db.search("x.child", [["parent_id", "=", 1]]);
  for (let i = 0; i < 100; i++) {
    db.freeze(r.pick(seconds));
    db.write("x.child", [r.int(8, 400)], { qty: r.int(0, 9), parent_id: r.int(1, 20) });
  }
  db.freeze(null);
  return db;
}

describe("odoo emulator search indexes", () => {
  test("keyset pages over (write_date, id) equal a full scan, also resumed within a second", () => {
    const db = seeded();
    const order = "write_date asc, id asc";
    const walk = (extra: unknown[], wide: boolean) => {
      const ids: number[] = [];
      let after: [string, number] | null = null;
      for (;;) {
        const keyset: unknown[] = after
          ? ["|", ["write_date", ">", after[0]], "&", ["write_date", "=", after[0]], ["id", ">", after[1]]]
          : [];
        const domain = [...extra, ...keyset];
        const page = db.search("x.child", wide ? unindexable(domain) : domain, { limit: 17, order });
        ids.push(...page);
        if (page.length < 17) return ids;
        const last = page[page.length - 1] as number;
        after = [String(db.row("x.child", last)?.write_date), last];
      }
    };
    for (const extra of [
      [],
      [["qty", ">", 4]],
      [["parent_id", "in", Array.from({ length: 20 }, (_, i) => i + 1)]],
      [["write_date", ">=", "2030-01-01 00:00:01"]],
      [
        "|",
        ["write_date", ">", "2030-01-01 00:00:01"],
        "&",
        ["write_date", "=", "2030-01-01 00:00:01"],
        ["parent_id", ">", 9],
      ],
      [
        ["write_date", "=", "2030-01-01 00:00:01"],
        ["id", ">", 200],
      ],
      [
        ["write_date", "<", "2030-01-01 00:00:02"],
        ["id", "<=", 300],
      ],
    ]) {
      const fast = walk(extra, false);
      assert.deepEqual(fast, walk(extra, true), JSON.stringify(extra));
      assert.ok(fast.length > 0, JSON.stringify(extra));
    }
  });

  test("id and many2one lookups equal a full scan, with their own order, offset and limit", () => {
    const db = seeded();
    for (const [domain, opts] of [
      [[["id", "in", [9, 3, 3, 400, 5, 999]]], {}],
      [[["parent_id", "in", [4, 2, 17]]], { order: "qty desc, id asc" }],
      [
        [
          ["parent_id", "=", 3],
          ["qty", ">=", 2],
        ],
        { offset: 2, limit: 5 },
      ],
      [[["parent_id", "in", []]], {}],
      [
        [
          ["id", "in", [1, 2, 3]],
          ["parent_id", "in", [1, 2, 3, 4, 5]],
        ],
        { order: "id desc" },
      ],
    ] as const) {
      const fast = db.search("x.child", domain, opts);
      assert.deepEqual(fast, db.search("x.child", unindexable([...domain]), opts), JSON.stringify(domain));
    }
    assert.ok(db.search("x.child", [["parent_id", "in", [4, 2, 17]]]).length > 0);
  });

  test("a one2many read follows creates, moves and deletes of children", () => {
    const db = seeded();
    const other = db.create("x.holder", { name: "other" });
    const p = db.create("x.holder", { name: "holder" });
    const kids = (h: number) => db.read("x.holder", [h], ["kid_ids"])[0]?.kid_ids;
    assert.deepEqual(kids(p), []);
    const a = db.create("x.kid", { name: "a", holder_id: other });
    assert.deepEqual(kids(other), [a]);
    db.write("x.holder", [p], { kid_ids: [[4, a, 0]] });
    db.write("x.holder", [p], { kid_ids: [[0, 0, { name: "b" }]] });
    const all = kids(p) as number[];
    assert.equal(all.length, 2);
    assert.equal(all[0], a);
    assert.deepEqual(kids(other), []);
    db.unlink("x.kid", [a]);
    assert.deepEqual(kids(p), all.slice(1));
    db.unlink("x.holder", [p]);
    assert.deepEqual(db.search("x.kid", [["holder_id", "=", p]]), []);
  });

  test("indexes built once follow every later create, write, setRaw and unlink", () => {
    const db = seeded();
    // A box per parent, with the parent's id, so that a box's items are that parent's children.
    db.define("x.box", {
      fields: {
        name: { type: "char" },
        item_ids: { type: "one2many", relation: "x.child", inverse: "parent_id" },
      },
    });
    const seconds = [
      "2030-01-01 00:00:00",
      "2030-01-01 00:00:01",
      "2030-01-01 00:00:02",
      "2030-01-01 00:00:03",
    ];
    const order = "write_date asc, id asc";
    const parents = Array.from({ length: 20 }, (_, i) => i + 1);
    /** Every indexed answer against the scan's, for the model's whole order and a few keyset bounds. */
    const check = (step: string) => {
      const all = db.search("x.child", [], { order });
      assert.deepEqual(
        all,
        db.search("x.child", unindexable([]), { order }),
        `${step}: (write_date, id) order`,
      );
      for (const at of seconds) {
        for (const after of [0, 150, 390]) {
          const keyset = ["|", ["write_date", ">", at], "&", ["write_date", "=", at], ["id", ">", after]];
          const fast = db.search("x.child", keyset, { order, limit: 13 });
          assert.deepEqual(
            fast,
            db.search("x.child", unindexable(keyset), { order, limit: 13 }),
            `${step}: ${at}`,
          );
        }
      }
      for (const p of [1, 2, 7, 20]) {
        const domain = [["parent_id", "=", p]];
        const byParent = db.search("x.child", domain);
        assert.deepEqual(byParent, db.search("x.child", unindexable(domain)), `${step}: parent ${p}`);
        // A one2many read takes the index's ids as they are (no domain re-test): stale ids would show here.
        assert.deepEqual(db.read("x.box", [p], ["item_ids"])[0]?.item_ids, byParent, `${step}: box ${p}`);
      }
      const many = db.search("x.child", [["parent_id", "in", parents]]);
      assert.deepEqual(many, db.search("x.child", unindexable([["parent_id", "in", parents]])), step);
    };
    for (const p of parents) assert.equal(db.create("x.box", { name: `box${p}` }), p);
    check("built");
    const r = rng(11);
    for (let step = 0; step < 300; step++) {
      db.freeze(r.pick(seconds));
      const live = db.search("x.child", []);
      const pick = () => r.pick(live);
      const op = r.int(0, 5);
      if (op === 0)
        db.create("x.child", { name: `n${step}`, parent_id: r.chance(0.8) ? r.int(1, 20) : false });
      // A write moving a many2one (or emptying it) and moving write_date, possibly to an earlier second.
      else if (op === 1) db.write("x.child", [pick()], { parent_id: r.chance(0.9) ? r.int(1, 20) : false });
      // A write that changes neither indexed field but moves the row in (write_date, id) order.
      else if (op === 2) db.write("x.child", [pick(), pick()], { qty: r.int(0, 9) });
      // setRaw moves the many2one without touching write_date.
      else if (op === 3) db.setRaw("x.child", pick(), { parent_id: r.int(1, 20) });
      else if (op === 4) db.unlink("x.child", [pick(), pick()]);
      // A one2many command on the parent side: links (writes) a child, creates one, deletes one.
      else {
        db.write("x.box", [r.int(1, 20)], {
          item_ids: [
            [4, pick(), 0],
            [0, 0, { name: `o${step}` }],
            [2, pick(), 0],
          ],
        });
      }
      check(`step ${step} (op ${op})`);
    }
    db.freeze(null);
  });
});
