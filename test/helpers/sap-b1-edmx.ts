/**
 * A part of Service Layer's $metadata, written back as EDMX: the entity sets asked for, their entity types,
 * and every complex and enum type those reach, with each property's name, type and nullability as the
 * vendor's document states them. Navigation properties are left out (they would pull in most of the
 * document's 1,400 types), and enum members are numbered in document order (Service Layer's JSON carries
 * member names, never their values). For tools that generate code from a document, which do not need all of it.
 */
import type { SapB1Metadata } from "@passerelle/emulators";

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");

export function edmxSubset(md: SapB1Metadata, sets: readonly string[]): string {
  const types = new Set<string>();
  const enums = new Set<string>();
  const visit = (name: string) => {
    if (types.has(name)) return;
    const t = md.types.get(name);
    if (!t) return;
    types.add(name);
    for (const p of t.properties.values()) {
      if (md.enums.has(p.type)) enums.add(p.type);
      else if (md.types.has(p.type)) visit(p.type);
    }
  };
  for (const set of sets) {
    const type = md.entitySets.get(set);
    if (!type) throw new Error(`the $metadata has no entity set ${set}`);
    visit(type);
  }
  const local = (n: string) => n.slice(n.indexOf(".") + 1);
  const out: string[] = [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">',
    "<edmx:DataServices>",
    '<Schema Namespace="SAPB1" xmlns="http://docs.oasis-open.org/odata/ns/edm">',
  ];
  for (const e of [...enums].sort()) {
    out.push(`<EnumType Name="${esc(local(e))}" UnderlyingType="Edm.Int32">`);
    let value = 0;
    for (const m of md.enums.get(e) ?? []) out.push(`<Member Name="${esc(m)}" Value="${value++}"/>`);
    out.push("</EnumType>");
  }
  for (const name of [...types].sort()) {
    const t = md.types.get(name);
    if (!t) continue;
    const tag = t.kind === "entity" ? "EntityType" : "ComplexType";
    out.push(`<${tag} Name="${esc(local(name))}">`);
    if (t.kind === "entity") {
      out.push(`<Key>${t.key.map((k) => `<PropertyRef Name="${esc(k)}"/>`).join("")}</Key>`);
    }
    for (const p of t.properties.values()) {
      const type = p.collection ? `Collection(${p.type})` : p.type;
      out.push(
        `<Property Name="${esc(p.name)}" Type="${esc(type)}"${p.nullable ? "" : ' Nullable="false"'}/>`,
      );
    }
    out.push(`</${tag}>`);
  }
  out.push('<EntityContainer Name="ServiceLayer">');
  for (const set of sets)
    out.push(`<EntitySet Name="${esc(set)}" EntityType="${esc(md.entitySets.get(set) ?? "")}"/>`);
  out.push("</EntityContainer>", "</Schema>", "</edmx:DataServices>", "</edmx:Edmx>");
  return out.join("\n");
}
