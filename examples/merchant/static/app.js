// The shop's page. Two parties serve it: this shop's backend (sign-in,
// the balance, client tokens) and jeton itself, which the browser calls
// directly through the SDK with a client token the backend minted.
import { Jeton, isJetonError } from '/jeton.js';

const $ = (sel) => document.querySelector(sel);
let jeton;
let me;
let polling;

/** Dollars as the page shows them: $1,234.50, -$3.00. */
function money(n) {
  const s = Math.abs(n).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  return (n < 0 ? '-$' : '$') + s;
}

function say(text) {
  $('#message').textContent = text;
}

/** A DOM element with text: never innerHTML, item names come from outside. */
function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function explain(e) {
  if (isJetonError(e)) return `${e.key}: ${e.message}`;
  return String(e?.message ?? e);
}

/** A unique reference for a trade, so a retried request cannot start it twice. */
function externalId(kind) {
  const r = globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  return `${kind}-${r}`;
}

async function api(path, init) {
  const res = await fetch(path, { credentials: 'same-origin', ...init });
  const body = res.status === 204 ? null : await res.json().catch(() => null);
  return { ok: res.ok, status: res.status, body };
}

// ---- signing in ----

async function start() {
  const r = await api('/api/me');
  if (r.status === 401) {
    $('#sign-in').hidden = false;
    $('#shop').hidden = true;
    $('#account').hidden = true;
    $('#username').focus();
    return;
  }
  if (!r.ok) throw new Error(`/api/me: HTTP ${r.status}`);
  me = r.body;
  $('#sign-in').hidden = true;
  $('#shop').hidden = false;
  $('#account').hidden = false;
  $('#user-name').textContent = me.user.name;
  showAccount(me);
  // The SDK asks the backend for a token when it needs one, and again
  // shortly before it expires.
  jeton = new Jeton({
    baseUrl: me.jetonUrl,
    getToken: async () => {
      const t = await api('/api/jeton-token', { method: 'POST' });
      if (!t.ok) throw new Error('cannot get a jeton token: sign in again');
      return t.body; // {token, expiresAt}
    },
  });
  await Promise.all([loadInventory(), loadMarket(), refresh()]);
  // Callbacks change the balance on the backend at any moment: poll it.
  polling = setInterval(refresh, 1000);
}

$('#sign-in').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const r = await api('/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: $('#username').value, password: $('#password').value }),
  });
  if (!r.ok) {
    say(r.body?.error ?? `Sign-in failed (HTTP ${r.status})`);
    return;
  }
  say('');
  $('#password').value = '';
  await start();
});

$('#sign-out').addEventListener('click', async () => {
  clearInterval(polling);
  await api('/logout', { method: 'POST' });
  location.reload();
});

// ---- balance, ledger and trades ----

let refreshing = false;

async function refresh() {
  if (refreshing) return;
  refreshing = true;
  try {
    const r = await api('/api/me');
    if (r.status === 401) return location.reload();
    if (r.ok) showAccount((me = r.body));
    const { trades } = await jeton.trades({ limit: 20 });
    showTrades(trades);
  } catch (e) {
    say(`Cannot refresh: ${explain(e)}`);
  } finally {
    refreshing = false;
  }
}

function showAccount(m) {
  const b = $('#balance');
  b.textContent = money(m.balance);
  b.dataset.amount = String(m.balance);
  const body = $('#ledger tbody');
  body.replaceChildren(
    ...m.entries.map((e) => {
      const tr = el('tr');
      tr.dataset.key = e.key;
      tr.append(el('td', new Date(e.at).toLocaleString()), el('td', e.memo),
        el('td', money(e.amount), `amount ${e.amount < 0 ? 'debit' : 'credit'}`));
      return tr;
    }),
  );
}

function showTrades(trades) {
  $('#trades tbody').replaceChildren(
    ...trades.map((t) => {
      const tr = el('tr');
      tr.dataset.id = t.id;
      tr.dataset.status = t.status;
      const status = t.error ? `${t.status} ${t.error}` : t.status;
      tr.append(
        el('td', new Date(t.createdAt).toLocaleTimeString()),
        el('td', t.type === 'DEPOSIT' ? 'Deposit' : 'Withdrawal'),
        el('td', t.items.map((i) => i.marketHashName || i.id).join(', ')),
        el('td', money(t.totalPrice), 'amount'),
        el('td', status, `status status-${t.status}`),
      );
      return tr;
    }),
  );
}

// ---- inventory and market ----

const game = () => $('#game').value;

function itemRow(it, label, onClick) {
  const li = el('li');
  li.dataset.id = it.id;
  li.dataset.price = String(it.offer.price);
  const b = el('button', label);
  b.type = 'button';
  b.setAttribute('aria-label', `${label} ${it.marketHashName} for ${money(it.offer.price)}`);
  b.addEventListener('click', () => onClick(it, b));
  li.append(el('span', it.marketHashName, 'name'), el('span', money(it.offer.price), 'price'), b);
  return li;
}

async function loadInventory() {
  try {
    const { inventory } = await jeton.inventory({ game: game(), acceptedOnly: true, sort: 'priceDesc', perPage: 24 });
    $('#inventory').replaceChildren(...inventory.map((it) => itemRow(it, 'Deposit', deposit)));
  } catch (e) {
    say(`Cannot load the inventory: ${explain(e)}`);
  }
}

async function loadMarket() {
  const min = $('#min-price').value;
  try {
    const { items } = await jeton.market({ game: game(), sort: 'priceAsc', perPage: 24, ...(min ? { minPrice: Number(min) } : {}) });
    $('#market').replaceChildren(...items.map((it) => itemRow(it, 'Withdraw', withdraw)));
  } catch (e) {
    say(`Cannot load the market: ${explain(e)}`);
  }
}

async function deposit(it, button) {
  button.disabled = true;
  try {
    const t = await jeton.deposit({
      game: game(),
      items: [{ itemId: it.id, offer: { price: it.offer.price, reference: it.offer.reference } }],
      externalId: externalId('dep'),
    });
    say(`Deposit of ${it.marketHashName} started (${t.status}). Accept the Steam offer; your balance rises when jeton confirms it.`);
    await refresh();
  } catch (e) {
    button.disabled = false;
    say(`Deposit refused: ${explain(e)}`);
  }
}

async function withdraw(it, button) {
  button.disabled = true;
  try {
    // Only these fields: jeton refuses unknown ones (e.g. the listing's delivery).
    const t = await jeton.withdraw({
      game: game(),
      items: [{ itemId: it.id, market: it.market, offer: { price: it.offer.price, reference: it.offer.reference } }],
      externalId: externalId('wd'),
    });
    say(`Withdrawal of ${it.marketHashName} asked (${t.status}); the shop approves it if your balance covers ${money(it.offer.price)}.`);
    await refresh();
  } catch (e) {
    say(`Withdrawal refused: ${explain(e)}`);
  } finally {
    button.disabled = false;
  }
}

$('#game').addEventListener('change', () => Promise.all([loadInventory(), loadMarket()]));
$('#reload').addEventListener('click', () => Promise.all([loadInventory(), loadMarket()]));
$('#market-filter').addEventListener('submit', (ev) => {
  ev.preventDefault();
  loadMarket();
});

start().catch((e) => say(`The shop cannot start: ${explain(e)}`));
