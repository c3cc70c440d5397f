/**
 * The Vendure channels that carry price lists, and the customer groups beside them.
 *
 * A price-list channel is the connection's own shop at other prices, so a shopper must be able to buy in
 * it: it gets the stock locations, shipping methods and payment methods of the connection's channel.
 * Without the stock locations Vendure's (multi-channel) stock strategy sees no stock and refuses every
 * line with INSUFFICIENT_STOCK_ERROR; without the methods there is nothing to ship or pay with.
 *
 * Every step is found again by what identifies it (channel by code, group by name, an assignment by
 * comparing both channels), never remembered, so a process killed between two steps is repaired by the
 * next run, and so is a channel created by an older Passerelle that did not equip it. Passerelle only adds
 * what the connection's channel has and the list's channel lacks; it never removes an assignment.
 */
import { z } from "zod";
import { ErrorResult, type VendureClient } from "../client.ts";
import { CHANNEL_FIELDS, type ChannelInfo, ChannelInfo as ChannelShape, once, slugFor } from "../lookup.ts";

const CHANNELS = `query Channels($options: ChannelListOptions) { channels(options: $options) { items { ${CHANNEL_FIELDS} } } }`;
const CREATE_CHANNEL = `mutation CreateChannel($input: CreateChannelInput!) {
  createChannel(input: $input) { __typename ... on Channel { ${CHANNEL_FIELDS} } ... on ErrorResult { errorCode message } }
}`;
const UPDATE_CHANNEL = `mutation UpdateChannel($input: UpdateChannelInput!) {
  updateChannel(input: $input) { __typename ... on Channel { ${CHANNEL_FIELDS} } ... on ErrorResult { errorCode message } }
}`;
const GROUPS = `query CustomerGroups($options: CustomerGroupListOptions) { customerGroups(options: $options) { items { id name } } }`;
const CREATE_GROUP = `mutation CreateCustomerGroup($input: CreateCustomerGroupInput!) { createCustomerGroup(input: $input) { id name } }`;

/** What a shopper needs from a channel besides its products. Vendure's admin lists stop at 1000 items. */
const SELLING = `query Selling {
  stockLocations(options: { take: 1000 }) { items { id } }
  shippingMethods(options: { take: 1000 }) { items { id } }
  paymentMethods(options: { take: 1000 }) { items { id } }
}`;
const Ids = z.object({ items: z.array(z.object({ id: z.string() })) });
const Selling = z.object({ stockLocations: Ids, shippingMethods: Ids, paymentMethods: Ids });
type Kind = keyof z.infer<typeof Selling>;

const ASSIGN: Record<Kind, { mutation: string; ids: string }> = {
  stockLocations: {
    mutation: `mutation AssignStockLocationsToChannel($input: AssignStockLocationsToChannelInput!) {
  assignStockLocationsToChannel(input: $input) { id }
}`,
    ids: "stockLocationIds",
  },
  shippingMethods: {
    mutation: `mutation AssignShippingMethodsToChannel($input: AssignShippingMethodsToChannelInput!) {
  assignShippingMethodsToChannel(input: $input) { id }
}`,
    ids: "shippingMethodIds",
  },
  paymentMethods: {
    mutation: `mutation AssignPaymentMethodsToChannel($input: AssignPaymentMethodsToChannelInput!) {
  assignPaymentMethodsToChannel(input: $input) { id }
}`,
    ids: "paymentMethodIds",
  },
};

export interface PriceListChannels {
  /** The channel of this code, or null; a channel found is not yet known to be equipped. */
  find(code: string): Promise<ChannelInfo | null>;
  /** The channel of this code, created (in this currency) when missing; a string says why not. */
  open(code: string, currency: string): Promise<ChannelInfo | string>;
  /**
   * The channel, selling in `currency` too: added to its currencies (availableCurrencyCodes) when missing.
   * A string says why not.
   */
  sellIn(ch: ChannelInfo, currency: string): Promise<ChannelInfo | string>;
  /** Makes sure a shopper can buy in the channel (checked once per channel per connection). */
  equip(ch: ChannelInfo): Promise<void>;
  /**
   * Equips every price-list channel there is: those Passerelle made (token `price-list-…`) and those the
   * configuration maps a list to. Once per connection, from the price and the stock writers, so a channel
   * an older Passerelle made is repaired by the first price or stock level written after an upgrade.
   */
  equipAll(): Promise<void>;
  /** The customer group of this name, created when missing. */
  ensureGroup(name: string): Promise<void>;
}

const TOKEN_PREFIX = "price-list-";

export function priceListChannels(
  client: VendureClient,
  base: () => Promise<ChannelInfo>,
  /** Channel codes the configuration maps price lists to (`priceListChannels`). */
  mapped: readonly string[],
): PriceListChannels {
  const channels = new Map<string, ChannelInfo>();
  // Equipping is checked once per channel per connection (each run), whatever created the channel.
  const equipped = new Map<string, () => Promise<void>>();
  const groups = new Set<string>();
  const baseSelling = once(() => client.request(SELLING, {}, Selling));

  async function find(code: string): Promise<ChannelInfo | null> {
    const known = channels.get(code);
    if (known) return known;
    const data = await client.request(
      CHANNELS,
      { options: { filter: { code: { eq: code } }, take: 1 } },
      z.object({ channels: z.object({ items: z.array(ChannelShape) }) }),
    );
    const found = data.channels.items.find((c) => c.code === code) ?? null;
    if (found) channels.set(code, found);
    return found;
  }

  async function create(code: string, currency: string): Promise<ChannelInfo | string> {
    const from = await base();
    if (!from.defaultTaxZone || !from.defaultShippingZone) {
      return `the default Vendure channel has no default tax or shipping zone to give channel "${code}"`;
    }
    const data = await client.request(
      CREATE_CHANNEL,
      {
        input: {
          code,
          token: `${TOKEN_PREFIX}${slugFor(code)}`,
          defaultLanguageCode: from.defaultLanguageCode,
          pricesIncludeTax: from.pricesIncludeTax,
          defaultCurrencyCode: currency,
          availableCurrencyCodes: [currency],
          defaultTaxZoneId: from.defaultTaxZone.id,
          defaultShippingZoneId: from.defaultShippingZone.id,
        },
      },
      z.object({
        createChannel: z.union([ChannelShape.extend({ __typename: z.literal("Channel") }), ErrorResult]),
      }),
    );
    const created = data.createChannel;
    if ("errorCode" in created) return `Vendure refused to create channel "${code}": ${created.message}`;
    const { __typename: _t, ...info } = created;
    channels.set(code, info);
    return info;
  }

  /** Gives the channel what the connection's channel sells with and it lacks. */
  async function assignMissing(ch: ChannelInfo): Promise<void> {
    const [have, own] = await Promise.all([
      baseSelling(),
      client.request(SELLING, {}, Selling, { channelToken: ch.token }),
    ]);
    for (const kind of Object.keys(ASSIGN) as Kind[]) {
      const owned = new Set(own[kind].items.map((i) => i.id));
      const missing = have[kind].items.map((i) => i.id).filter((id) => !owned.has(id));
      if (missing.length === 0) continue;
      // Run in the connection's channel: Vendure assigns only what the active channel can see.
      await client.request(
        ASSIGN[kind].mutation,
        { input: { [ASSIGN[kind].ids]: missing, channelId: ch.id } },
        z.unknown(),
      );
    }
  }

  async function equip(ch: ChannelInfo): Promise<void> {
    let ready = equipped.get(ch.code);
    if (!ready) {
      ready = once(() => assignMissing(ch));
      equipped.set(ch.code, ready);
    }
    await ready();
  }

  const equipAll = once(async () => {
    const from = await base();
    const data = await client.request(
      CHANNELS,
      { options: { take: 1000 } },
      z.object({ channels: z.object({ items: z.array(ChannelShape) }) }),
    );
    for (const ch of data.channels.items) {
      if (ch.id === from.id || (!ch.token.startsWith(TOKEN_PREFIX) && !mapped.includes(ch.code))) continue;
      channels.set(ch.code, ch);
      await equip(ch);
    }
  });

  return {
    find,
    async open(code, currency) {
      return (await find(code)) ?? (await create(code, currency));
    },
    async sellIn(ch, currency) {
      if (ch.defaultCurrencyCode === currency || ch.availableCurrencyCodes.includes(currency)) return ch;
      const data = await client.request(
        UPDATE_CHANNEL,
        { input: { id: ch.id, availableCurrencyCodes: [...ch.availableCurrencyCodes, currency] } },
        z.object({
          updateChannel: z.union([ChannelShape.extend({ __typename: z.literal("Channel") }), ErrorResult]),
        }),
      );
      const updated = data.updateChannel;
      if ("errorCode" in updated) {
        return `Vendure refused to add ${currency} to channel "${ch.code}": ${updated.message}`;
      }
      const { __typename: _t, ...info } = updated;
      channels.set(info.code, info);
      return info;
    },
    equip,
    equipAll,
    async ensureGroup(name) {
      if (groups.has(name)) return;
      const data = await client.request(
        GROUPS,
        { options: { filter: { name: { eq: name } }, take: 1 } },
        z.object({
          customerGroups: z.object({ items: z.array(z.object({ id: z.string(), name: z.string() })) }),
        }),
      );
      if (!data.customerGroups.items.some((g) => g.name === name)) {
        await client.request(CREATE_GROUP, { input: { name } }, z.unknown());
      }
      groups.add(name);
    },
  };
}
