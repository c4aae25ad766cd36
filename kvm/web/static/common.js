// Shared by the console's pages: the page's configuration, Redfish
// through the session cookie (/console/redfish/v1/...), notices.

export const config = JSON.parse(document.getElementById('config').textContent);

export const $ = (id) => document.getElementById(id);

// el builds an element: el('a', {href: '/x', class: 'y'}, 'text', child…).
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) {
    if (c !== undefined && c !== null) e.append(c);
  }
  return e;
}

// toLogin sends the browser to the login form, which brings it back.
export function toLogin() {
  location.href = '/console/login?next=' + encodeURIComponent(location.pathname + location.search);
}

export class RedfishError extends Error {
  constructor(status, body) {
    let msg = `HTTP ${status}`;
    const info = body?.error?.['@Message.ExtendedInfo'];
    if (info?.length) msg = info.map((m) => m.Message).join(' ');
    else if (body?.error?.message) msg = body.error.message;
    else if (body?.error && typeof body.error === 'string') msg = body.error;
    super(msg);
    this.status = status;
  }
}

// redfish calls Redfish for this page: path is a Redfish URI
// (/redfish/v1/...), body (if any) is sent as JSON. It resolves to the
// JSON answer (null for 204), and sends the browser to the login form
// when the session has ended.
export async function redfish(path, {method = 'GET', body} = {}) {
  const opts = {method, credentials: 'same-origin', headers: {Accept: 'application/json'}};
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  const res = await fetch('/console' + path, opts);
  if (res.status === 401) {
    toLogin();
    throw new RedfishError(401, null);
  }
  const text = await res.text();
  let json = null;
  if (text) {
    try { json = JSON.parse(text); } catch { json = null; }
  }
  if (!res.ok) throw new RedfishError(res.status, json);
  return json;
}

// getJSON fetches one of bmcd's own JSON endpoints (/kvm/…, /images/).
export async function getJSON(url) {
  const res = await fetch(url, {credentials: 'same-origin', cache: 'no-store'});
  if (res.status === 401) {
    toLogin();
    throw new Error('session ended');
  }
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.json();
}

let noticeTimer;
// notice shows a message above the console for a while (kind: 'info',
// 'warn', 'error').
export function notice(text, kind = 'info', ms = 6000) {
  const n = $('notice');
  if (!n) return;
  n.textContent = text;
  n.className = 'notice ' + kind;
  n.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { n.hidden = true; }, ms);
}

// every runs f now and then every ms while the page is open, skipping
// runs while the tab is hidden.
export function every(ms, f) {
  const run = async () => {
    if (document.visibilityState !== 'hidden') {
      try { await f(); } catch (e) { console.warn(e); }
    }
    setTimeout(run, ms);
  };
  run();
}

export function wsURL(path) {
  return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + path;
}
