// The dashboard's page: the overview of the signed-in person's sessions,
// kept live over a WebSocket (the engine sends it again whenever it
// changes), with the approval queue and the controls. Every name and
// value goes in with textContent: nothing from the engine is read as HTML.
'use strict';

let csrf = '';

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function row(cells, head) {
  const tr = el('tr');
  for (const c of cells) tr.appendChild(el(head ? 'th' : 'td', c));
  return tr;
}

// money as people read it: two decimals (the engine's own has eight)
function money(v) {
  const n = parseFloat(v);
  return Number.isFinite(n) ? n.toFixed(2) : v;
}

function say(text) {
  document.getElementById('said').textContent = text || '';
}

async function act(session, what, arg, ask, out) {
  if (ask && !window.confirm(ask)) return;
  const q = new URLSearchParams({ session: String(session), do: what });
  if (arg !== undefined) q.set('arg', String(arg));
  const r = await fetch('/api/act?' + q.toString(), {
    method: 'POST', headers: { 'X-CSRF-Token': csrf }, credentials: 'same-origin',
  });
  const j = await r.json().catch(() => ({}));
  const text = r.ok ? j.said : (j.error || ('refused (' + r.status + ')'));
  if (out) out.textContent = text; else say(text);
}

function button(text, cls, fn) {
  const b = el('button', text, cls);
  b.type = 'button';
  b.addEventListener('click', fn);
  return b;
}

function renderSession(s) {
  const box = el('section', null, 'session');
  box.id = 'session-' + s.id;
  box.dataset.trades = String(s.trades);
  box.dataset.positions = String(s.positions.length);
  const h = el('h2');
  h.appendChild(el('span', s.name, 'name'));
  h.appendChild(document.createTextNode(' · session ' + s.id + ' · '));
  h.appendChild(el('span', s.mode, 'badge mode'));
  if (s.paused) h.appendChild(el('span', 'paused', 'badge warn'));
  if (s.kill) h.appendChild(el('span', 'kill switch', 'badge warn'));
  if (s.breaker) h.appendChild(el('span', 'breaker tripped', 'badge warn'));
  box.appendChild(h);
  const facts = el('div', null, 'facts');
  const pnl = parseFloat(s.pnl);
  for (const [k, v, c] of [['Equity', money(s.equity)], ['P&L', money(s.pnl), pnl >= 0 ? 'up' : 'down'],
    ['Trades', s.trades], ['Won', s.wins]]) {
    const f = el('span');
    f.appendChild(el('b', k + ': '));
    f.appendChild(el('span', v, c));
    facts.appendChild(f);
  }
  box.appendChild(facts);
  if (s.positions.length) {
    const t = el('table', null, 'positions');
    t.appendChild(row(['Pair', 'Side', 'Qty', 'Entry', 'Stop', 'Target', 'Last', 'Unrealised'], true));
    for (const p of s.positions) {
      const tr = row([p.symbol, p.side, p.qty, p.entry, p.stop ?? '—', p.target ?? '—', p.last ?? '—',
        money(p.unrealized)]);
      if (s.mine) {
        const td = el('td');
        td.appendChild(button('Close', 'stop', () => act(s.id, 'close', p.symbol,
          'Close the ' + p.symbol + ' position at market?')));
        tr.appendChild(td);
      }
      t.appendChild(tr);
    }
    box.appendChild(t);
  } else {
    box.appendChild(el('p', 'No open position.'));
  }
  for (const l of s.locks || []) {
    const line = el('div', null, 'controls lock');
    line.appendChild(el('span', 'Locked: ' + l.symbol + ' (' + l.why + ')' +
      (l.until_ms ? ' until ' + new Date(l.until_ms).toISOString().slice(0, 16).replace('T', ' ') + ' UTC' : '')));
    if (s.mine && l.symbol !== 'every pair')
      line.appendChild(button('Unlock', '', () => act(s.id, 'unlock', l.symbol, 'Unlock ' + l.symbol + '?')));
    box.appendChild(line);
  }
  if (s.approvals.length) {
    box.appendChild(el('h3', s.mine ? 'Waiting for your approval' : 'Waiting for its owner\'s approval'));
    for (const a of s.approvals) {
      const line = el('div', null, 'approval');
      line.id = 'approval-' + a.id;
      line.appendChild(el('span', a.side + ' ' + a.qty + ' ' + a.symbol + ' near ' + a.price +
        ', stop ' + (a.stop ?? '—') + ', target ' + (a.target ?? '—')));
      if (s.mine) {
        line.appendChild(button('Approve', 'go', () => act(s.id, 'approve', a.id)));
        line.appendChild(button('Reject', '', () => act(s.id, 'reject', a.id)));
      }
      box.appendChild(line);
    }
  }
  if (s.mine) {
    const c = el('div', null, 'controls');
    c.appendChild(s.paused
      ? button('Resume', '', () => act(s.id, 'resume', undefined, 'Allow new entries again?'))
      : button('Pause', '', () => act(s.id, 'pause', undefined, 'Stop new entries (exits still run)?')));
    for (const m of ['watcher', 'copilot', 'pilot'])
      if (m !== s.mode)
        c.appendChild(button('Mode: ' + m, '', () => act(s.id, 'mode', m, 'Switch to ' + m + '?')));
    if (s.breaker)
      c.appendChild(button('Reset breaker', '', () => act(s.id, 'reset', undefined, 'Reset the circuit breaker?')));
    c.appendChild(button('Close everything', 'stop', () => act(s.id, 'closeall', undefined,
      'Close every open position of this session at market?')));
    box.appendChild(c);
  }
  return box;
}

// ---- the chart (TradingView's lightweight-charts) ----
let chart = null, candleSeries = null, ema20 = null, ema50 = null, chartAt = 0;

function makeChart() {
  if (chart || !window.LightweightCharts) return;
  const box = document.getElementById('chartbox');
  chart = LightweightCharts.createChart(box, {
    autoSize: true, layout: { background: { color: '#ffffff' }, textColor: '#1b1f24' },
    timeScale: { timeVisible: true, secondsVisible: false },
  });
  candleSeries = chart.addCandlestickSeries();
  ema20 = chart.addLineSeries({ color: '#0969da', lineWidth: 1, priceLineVisible: false });
  ema50 = chart.addLineSeries({ color: '#bf8700', lineWidth: 1, priceLineVisible: false });
}

async function drawChart(force) {
  const sym = document.getElementById('symbol').value;
  if (!sym || (!force && Date.now() - chartAt < 2000)) return;
  chartAt = Date.now();
  makeChart();
  if (!chart) return;
  const r = await fetch('/api/chart?symbol=' + encodeURIComponent(sym), { credentials: 'same-origin' });
  if (!r.ok) return;
  const d = await r.json();
  candleSeries.setData(d.candles.map((c) => ({ time: c.t, open: c.o, high: c.h, low: c.l, close: c.c })));
  ema20.setData(d.ema20.map((p) => ({ time: p.t, value: p.v })));
  ema50.setData(d.ema50.map((p) => ({ time: p.t, value: p.v })));
  const iv = d.interval_s || 60;
  const marks = d.markers.map((m) => ({
    time: Math.floor(m.t / iv) * iv, // on the candle it happened in
    position: m.kind === 'entry' ? (m.side === 'long' ? 'belowBar' : 'aboveBar') : 'aboveBar',
    color: m.kind === 'entry' ? '#1a7f37' : '#cf222e',
    shape: m.kind === 'entry' ? (m.side === 'long' ? 'arrowUp' : 'arrowDown') : 'circle',
    text: m.kind,
  })).sort((a, b) => a.time - b.time);
  candleSeries.setMarkers(marks);
  document.getElementById('chartbox').dataset.candles = String(d.candles.length);
  document.getElementById('chartbox').dataset.markers = String(marks.length);
}

// ---- the trade journal ----
async function drawJournal() {
  const q = new URLSearchParams();
  const text = document.getElementById('q').value.trim();
  const sess = document.getElementById('jsession').value;
  if (text) q.set('q', text);
  if (sess) q.set('session', sess);
  const csv = new URLSearchParams(q);
  csv.set('format', 'csv');
  document.getElementById('csv').href = '/api/trades?' + csv.toString();
  const r = await fetch('/api/trades?' + q.toString(), { credentials: 'same-origin' });
  if (!r.ok) return;
  const d = await r.json();
  const t = document.getElementById('trades');
  const rows = [row(['Session', 'Pair', 'Side', 'Qty', 'Entry', 'Exit', 'P&L', 'Fees', 'Reason', 'Opened', 'Closed'], true)];
  for (const x of d.trades.slice(0, 500)) {
    const tr = row([x.session, x.pair, x.side, x.qty, x.entry, x.exit, money(x.pnl), money(x.fees), x.reason,
      x.opened, x.closed]);
    tr.className = 'trade ' + (parseFloat(x.pnl) >= 0 ? 'up' : 'down');
    rows.push(tr);
  }
  t.replaceChildren(...rows);
}

let symbolsSet = false, journalAt = 0;

function render(o) {
  const at = document.getElementById('sessions');
  at.replaceChildren(...o.sessions.map(renderSession));
  document.getElementById('empty').hidden = o.sessions.length > 0;
  if (!symbolsSet) {
    symbolsSet = true;
    document.getElementById('symbol').replaceChildren(...o.symbols.map((s) => el('option', s)));
    document.getElementById('jsession').append(...o.sessions.map((s) => {
      const op = el('option', s.id + ' ' + s.name);
      op.value = String(s.id);
      return op;
    }));
  }
  drawChart(false);
  if (Date.now() - journalAt > 2000) {
    journalAt = Date.now();
    drawJournal();
  }
}

function connect() {
  const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/live',
    'nx-live');
  const live = document.getElementById('live');
  ws.onopen = () => { live.textContent = 'live'; live.className = 'on'; };
  ws.onmessage = (m) => render(JSON.parse(m.data));
  ws.onclose = () => {
    live.textContent = 'offline'; live.className = 'off';
    setTimeout(connect, 2000); // the engine restarted, or the network dropped
  };
}

async function drawReports() {
  const r = await fetch('/api/reports', { credentials: 'same-origin' });
  if (!r.ok) return;
  const d = await r.json();
  const ul = document.getElementById('reportlist');
  if (!d.reports.length) {
    ul.replaceChildren(el('li', 'None yet: nexus backtest --report into the folder web.reports names.'));
    return;
  }
  ul.replaceChildren(...d.reports.map((x) => {
    const li = el('li');
    const a = el('a', x.name);
    a.href = '/api/reports?name=' + encodeURIComponent(x.name);
    a.target = '_blank';
    a.rel = 'noopener';
    li.appendChild(a);
    li.appendChild(document.createTextNode(' — ' + x.written + ', ' + Math.round(x.bytes / 1024) + ' KiB'));
    return li;
  }));
}

async function main() {
  const r = await fetch('/api/me', { credentials: 'same-origin' });
  if (!r.ok) {
    document.getElementById('sessions').replaceChildren(
      el('p', 'You are not signed in: ask for a link with /dashboard in chat.'));
    return;
  }
  const me = await r.json();
  csrf = me.csrf;
  document.getElementById('who').textContent = 'user ' + me.user + ' (' + me.role + ')';
  document.getElementById('logout').addEventListener('click', async () => {
    await fetch('/logout', { method: 'POST', headers: { 'X-CSRF-Token': csrf } });
    location.reload();
  });
  if (me.role === 'owner' || me.role === 'admin') {
    document.getElementById('ops').hidden = false;
    document.getElementById('opslink').hidden = false;
    const out = document.getElementById('opsout');
    document.getElementById('ops-health').addEventListener('click', () => act(0, 'health', undefined, null, out));
    document.getElementById('ops-users').addEventListener('click', () => act(0, 'users', undefined, null, out));
    document.getElementById('ops-logs').addEventListener('click', () => act(0, 'logs', undefined, null, out));
    if (me.role === 'owner') {
      const on = document.getElementById('ks-on'), off = document.getElementById('ks-off');
      on.hidden = off.hidden = false;
      on.addEventListener('click', () => act(0, 'killswitch', 'on',
        'Turn the kill switch on: no new entry for anyone, exits still run?', out));
      off.addEventListener('click', () => act(0, 'killswitch', 'off', 'Turn the kill switch off?', out));
    }
  }
  drawReports();
  document.getElementById('symbol').addEventListener('change', () => drawChart(true));
  document.getElementById('q').addEventListener('input', drawJournal);
  document.getElementById('jsession').addEventListener('change', drawJournal);
  const o = await fetch('/api/overview', { credentials: 'same-origin' });
  if (o.ok) render(await o.json());
  drawChart(true);
  connect();
}

main();
