import { inject } from 'vitest';

/** The suite's venue (test/support/global-setup.ts), as its control port shows an order. */
export interface VenueView {
  order_id: string;
  status: string;
  cum_qty: number;
  leaves_qty: number;
  avg_px: string | null;
  executions: { exec_id: string; exec_type: string; last_qty: number; last_px: string | null; seq: number }[];
}

export async function venueViewOf(orderId: string, controlUrl: string = inject('venueControlUrl')): Promise<VenueView> {
  const response = await fetch(`${controlUrl}/control/orders/${orderId}`);
  if (response.status !== 200) throw new Error(`venue view of ${orderId}: ${response.status} ${await response.text()}`);
  return (await response.json()) as VenueView;
}

/** Asks the venue's control port to do something (fill, bust, faults…); its JSON answer. */
export async function venueControl(path: string, body: unknown, controlUrl: string = inject('venueControlUrl')): Promise<unknown> {
  const response = await fetch(`${controlUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status >= 300) throw new Error(`venue ${path}: ${response.status} ${text}`);
  return text === '' ? null : JSON.parse(text);
}
