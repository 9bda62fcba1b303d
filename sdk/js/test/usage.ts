// Type-checked by `npm run check-dist` (never run): the generated types
// reach the methods of the built package, and wrong calls do not compile.
import { Jeton, isJetonError, type Item, type SagaPayment, type Trade } from '../dist/jeton.js';

const jeton = new Jeton({ baseUrl: 'https://pay.example.com', getToken: () => 'token' });

export async function usage(): Promise<void> {
  const me = await jeton.me();
  const steamId: string = me.steamID;
  const left: number = me.expiresIn;

  const { inventory, collateral } = await jeton.inventory({ game: '730', acceptedOnly: true, sort: 'priceAsc' });
  const item: Item | undefined = inventory[0];
  // @ts-expect-error only CS2 (730) and Rust (252490)
  await jeton.inventory({ game: '440' });

  if (item) {
    const deposit: Trade = await jeton.deposit({
      items: [{ itemId: item.id, offer: { price: item.offer.price, reference: item.offer.reference } }],
      externalId: 'order-1',
    });
    const status: 'INITIATED' | 'PENDING' | 'ACTIVE' | 'HOLD' | 'COMPLETED' | 'DECLINED' | 'CANCELED' | 'FAILED' | 'REVERTED' = deposit.status;
    void status;
  }
  // @ts-expect-error items is required
  await jeton.deposit({ externalId: 'order-2' });

  const { orderId } = await jeton.createOrder({
    'terminal$id': 'terminal-1',
    orderLines: [{ id: '1', name: 'Coffee', amount: { regular: 4500, total: 4500, currency: '752' } }],
  });
  // @ts-expect-error paymentMethod is CARD or CARD_NP
  await jeton.initiatePayment({ orderId, paymentMethod: 'CASH' });
  const payment: SagaPayment = await jeton.getPayment(orderId);
  const { orderStatus } = await jeton.orderStatus(orderId);
  // @ts-expect-error not an order status
  if (orderStatus === 'DONE') return;

  try {
    await jeton.withdraw({ items: [{ itemId: 'listing-1', market: 1, offer: { price: 1.5, reference: 'r' } }] });
  } catch (e) {
    if (isJetonError(e, 'MERCHANT_BALANCE_LOW')) {
      const key: string = e.key;
      const code: number | undefined = e.code;
      const status: number = e.status;
      void [key, code, status];
    }
  }
  void [steamId, left, collateral, payment];
}
