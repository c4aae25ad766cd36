// All systems at a glance: a card per system with a live thumbnail (a
// snapshot every few seconds, only while the card is on screen and the
// tab visible, so bmcd encodes nothing for machines nobody looks at),
// the power state and health from Redfish, a filter, one click into the
// machine's console.
import {$, config, el, every, redfish} from './common.js';

const THUMB_MS = 3000;
const REDFISH_MS = 5000;

const cards = new Map(); // id -> {card, img, power, health, visible, data}

function build() {
  const grid = $('systems');
  for (const s of config.systems) {
    const img = el('img', {alt: `screen of system ${s.id}`, class: 'thumb', hidden: true});
    const blank = el('div', {class: 'thumb blank'}, s.display ? 'no signal' : 'no screen');
    const power = el('span', {class: 'power'}, '…');
    const health = el('span', {class: 'health'});
    const card = el('a', {class: 'card', href: '/console/' + encodeURIComponent(s.id), 'data-id': s.id},
      el('div', {class: 'shot'}, img, blank),
      el('div', {class: 'meta'},
        el('b', {class: 'id'}, s.id),
        el('span', {class: 'host'}, s.hostName || ''),
        el('span', {class: 'model muted'}, s.model || ''),
        el('span', {class: 'line'}, power, health)));
    grid.append(card);
    cards.set(s.id, {card, img, blank, power, health, visible: false, data: s, loading: false});
  }
}

// The thumbnails: only cards on screen are refreshed.
const seen = new IntersectionObserver((entries) => {
  for (const e of entries) {
    const c = cards.get(e.target.dataset.id);
    if (c) {
      c.visible = e.isIntersecting;
      if (c.visible) refreshThumb(c);
    }
  }
});

function refreshThumb(c) {
  if (!c.data.display || c.loading || c.card.hidden || document.visibilityState === 'hidden') return;
  if (c.powerState === 'Off') {
    showBlank(c, 'off');
    return;
  }
  c.loading = true;
  const next = new Image();
  next.onload = () => {
    c.loading = false;
    c.img.src = next.src;
    c.img.hidden = false;
    c.blank.hidden = true;
  };
  next.onerror = () => { // 503: no signal
    c.loading = false;
    showBlank(c, 'no signal');
  };
  // A thumbnail the card's size (in device pixels, in steps of 80 so
  // that cards of one size share the server's scaled copy), not the
  // whole screen.
  const width = Math.min(1024, Math.max(80, Math.ceil((c.card.clientWidth * (window.devicePixelRatio || 1)) / 80) * 80));
  next.src = `/kvm/${encodeURIComponent(c.data.id)}/snapshot.jpg?width=${width}&t=${Date.now()}`;
}

function showBlank(c, text) {
  c.img.hidden = true;
  c.blank.hidden = false;
  c.blank.textContent = text;
}

async function refreshRedfish() {
  let members;
  try {
    members = (await redfish('/redfish/v1/Systems?$expand=.($levels=1)')).Members;
  } catch {
    const coll = await redfish('/redfish/v1/Systems');
    members = await Promise.all(coll.Members.map((m) => redfish(m['@odata.id'])));
  }
  for (const m of members) {
    const c = cards.get(m.Id);
    if (!c) continue;
    c.powerState = m.PowerState;
    c.health = m.Status?.Health || '';
    c.power.textContent = m.PowerState + (m.Status?.State === 'Starting' ? ' (POST)' : '');
    c.power.className = 'power ' + (m.PowerState || '').toLowerCase();
    c.health.textContent = c.health;
    c.health.className = 'health ' + c.health.toLowerCase();
    c.search = [m.Id, m.Name, m.HostName, m.Model, m.Manufacturer, m.PowerState, c.health,
      c.data.hostName, c.data.model].join(' ').toLowerCase();
  }
  applyFilter();
}

function applyFilter() {
  const words = $('filter').value.toLowerCase().split(/\s+/).filter(Boolean);
  let shown = 0;
  for (const c of cards.values()) {
    const text = c.search || [c.data.id, c.data.hostName, c.data.model].join(' ').toLowerCase();
    c.card.hidden = !words.every((w) => text.includes(w));
    if (!c.card.hidden) shown++;
  }
  $('count').textContent = `${shown} of ${cards.size} systems`;
}

build();
for (const c of cards.values()) seen.observe(c.card);
$('filter').addEventListener('input', applyFilter);
applyFilter();
every(REDFISH_MS, refreshRedfish);
setInterval(() => {
  for (const c of cards.values()) if (c.visible) refreshThumb(c);
}, THUMB_MS);
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') for (const c of cards.values()) if (c.visible) refreshThumb(c);
});
