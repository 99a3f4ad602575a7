import { defineSearchAttributeKey, type SearchAttributePair, SearchAttributeType } from '@temporalio/common';
import type { OrderTicket } from '../domain/order.js';

// Custom search attributes of order workflows, so that the Web UI and visibility queries can
// list e.g. every order of one instrument accepted and not yet placed (an order the exchange
// keeps refusing shows `accepted` there; its page's details say `placing`):
//   OrderStatus = 'accepted' AND Instrument = 'US0378331005'
export const ORDER_ID = defineSearchAttributeKey('OrderId', SearchAttributeType.KEYWORD);
export const INSTRUMENT = defineSearchAttributeKey('Instrument', SearchAttributeType.KEYWORD);
export const SIDE = defineSearchAttributeKey('Side', SearchAttributeType.KEYWORD);
export const ORDER_STATUS = defineSearchAttributeKey('OrderStatus', SearchAttributeType.KEYWORD);
// The account that created the order: set by the API when it starts the workflow (not upserted
// by the workflow, so no command and no patch), e.g. AccountId = '<uuid>' AND OrderStatus = 'placed'.
export const ACCOUNT_ID = defineSearchAttributeKey('AccountId', SearchAttributeType.KEYWORD);

/**
 * What an order's workflow carries from its start: set by the API with the start (no command),
 * or upserted by the workflow when its start could not carry them. OrderStatus changes after.
 */
export function orderStartAttributes(ticket: OrderTicket): SearchAttributePair[] {
  return [
    { key: ORDER_ID, value: ticket.id },
    { key: INSTRUMENT, value: ticket.instrument },
    { key: SIDE, value: ticket.side },
    { key: ORDER_STATUS, value: 'accepted' },
  ];
}

export const ORDER_SEARCH_ATTRIBUTES = [ORDER_ID, INSTRUMENT, SIDE, ORDER_STATUS, ACCOUNT_ID];

/** Name and type as the dev server's `--search-attribute Name=Keyword` flag takes them. */
export const SEARCH_ATTRIBUTE_DEFINITIONS = ORDER_SEARCH_ATTRIBUTES.map((key) => ({ name: key.name, type: 'Keyword' as const }));
