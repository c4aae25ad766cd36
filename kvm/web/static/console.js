// One machine's console: the screen, keyboard and mouse, power, the
// identify LED, virtual media, screenshot, paste, the serial console and
// who watches. Everything goes through bmcd's endpoints as the user's
// session: /kvm/{id}/... (video, HID, serial, viewers), /images/, and
// Redfish (/console/redfish/v1/..., the cookie as X-Auth-Token).
import {$, config, el, every, getJSON, notice, redfish} from './common.js';
import {Hid, capture} from './hid.js';
import {mjpegView, vncView} from './video.js';
import {startSerial} from './serial.js';
import {Media} from './media.js';

const sys = config.system;
const user = config.user;
const kvm = `/kvm/${encodeURIComponent(sys.id)}`;
const systemPath = `/redfish/v1/Systems/${encodeURIComponent(sys.id)}`;

// What the HID connection said: may this client control, does it now.
const state = {mayControl: user.control, you: false, by: '', hello: null, relative: false, power: ''};
window.bmcdConsole = {state};

// Controls that need a privilege stay disabled without it (a ReadOnly
// account views only).
for (const b of document.querySelectorAll('.need-control')) b.disabled = !user.control;
for (const b of document.querySelectorAll('.need-media')) b.disabled = !user.media;
if (!user.control) document.body.classList.add('view-only');

// --- screen ---
const screen = $('screen');
const videoStatus = (s) => { $('video-status').dataset.stream = s; renderVideoStatus(); };
let view = null;
$('screenshot').href = `${kvm}/snapshot.png`;
$('screenshot').addEventListener('click', (e) => {
  e.currentTarget.download = `system-${sys.id}-${new Date().toISOString().replace(/[:.]/g, '-')}.png`;
});
if (!sys.display) $('screenshot').hidden = true;

let videoState = null;
function renderVideoStatus() {
  const parts = [];
  const s = videoState;
  if (s) {
    parts.push(s.source.online ? `${s.source.resolution.width}×${s.source.resolution.height}` : 'no signal');
    parts.push(`${s.stream.sent_fps} fps sent, ${s.stream.viewers} video viewer${s.stream.viewers === 1 ? '' : 's'}`);
    if (view) parts.push(view.kind === 'vnc' ? 'VNC (noVNC)' : 'MJPEG');
  }
  const extra = $('video-status').dataset.stream;
  if (extra) parts.push(extra);
  $('video-status').textContent = parts.join(' · ');
}

// --- keyboard and mouse ---
const mayType = () => user.control && state.mayControl && (sys.keyboard || sys.pointer);
let lastViewOnlyNotice = 0;
const hid = sys.console ? new Hid(sys.id, {
  open() { renderControl(); },
  close() { $('control').textContent = 'input disconnected, reconnecting…'; },
  hello(m) {
    state.hello = m;
    state.mayControl = m.may_control;
    state.relative = !m.absolute && m.relative;
    // The host's layout (the machine's setting) unless the user picks
    // another for this paste.
    const sel = $('paste-layout');
    const host = m.layout || 'us';
    sel.replaceChildren(...m.layouts.map((l) => el('option', {value: l}, l === host ? `${l} (the host's)` : l)));
    sel.value = host;
  },
  leds(m) {
    $('led-num').classList.toggle('on', !!m.num_lock);
    $('led-caps').classList.toggle('on', !!m.caps_lock);
    $('led-scroll').classList.toggle('on', !!m.scroll_lock);
  },
  control(m) {
    state.you = m.you;
    state.by = m.by;
    state.mayControl = m.may_control;
    renderControl();
    const was = wasYou;
    wasYou = m.you;
    reclaimFromOwnVNC(m).then((own) => {
      // taken_by names whoever took control from this page, even when
      // control moved on since.
      if (!own && m.taken_by && !m.you) notice(`${m.taken_by} took over the console: you are viewing only now.`, 'warn', 10000);
      else if (!own && was && !m.you && m.by) notice(`${m.by} has control: you are viewing only now.`, 'warn', 10000);
    });
  },
  pasted(m) {
    state.pasting = false;
    $('paste-status').textContent = `typed ${m.chars} characters`;
    $('paste').disabled = !user.control;
  },
  error(m) {
    if (m.code === 'view_only') {
      if (Date.now() - lastViewOnlyNotice > 3000) notice(`${m.message}: take over to type.`, 'warn');
      lastViewOnlyNotice = Date.now();
      return;
    }
    if (state.pasting) {
      state.pasting = false;
      $('paste').disabled = !user.control;
      $('paste-status').textContent = m.code === 'untypable' ? `the ${$('paste-layout').value} layout cannot type: ${m.chars.join(' ')}` : m.message;
      return;
    }
    notice(m.message, m.code === 'powered_off' ? 'info' : 'error');
  },
}) : null;
window.bmcdConsole.hid = hid;

let wasYou = false;
let lastReclaim = 0;
// account@address of a client's name "account@address#n".
const who = (name) => (name || '').replace(/#\d+$/, '');

// reclaimFromOwnVNC takes control back from this page's own noVNC
// connection: the VNC server joins every connection to the input hub, and
// one that joins while nobody has control gets it, but the page's view
// sends no input (keys go through the HID connection). It resolves true
// when the controller was a VNC client of this account and address.
async function reclaimFromOwnVNC(m) {
  if (m.you || !m.by || who(m.by) !== who(state.hello?.name) || view?.kind !== 'vnc' || !m.may_control) return false;
  let v;
  try { v = await getJSON(`${kvm}/viewers`); } catch { return false; }
  const ctl = v.clients.find((c) => c.controls);
  if (!ctl || ctl.name !== m.by || ctl.kind !== 'vnc') return false;
  if (Date.now() - lastReclaim > 2000) {
    lastReclaim = Date.now();
    hid.send({t: 'takeover'});
  }
  return true;
}

function renderControl() {
  const c = $('control');
  if (!state.mayControl) c.textContent = 'View only: this account may not type' + (state.by ? ` (${state.by} has control)` : '');
  else if (state.you) c.textContent = 'You have control';
  else if (state.by) c.textContent = `View only: ${state.by} has control`;
  else c.textContent = 'Nobody has control: typing takes it';
  c.className = 'control ' + (state.you ? 'you' : state.by ? 'other' : '');
  $('takeover').disabled = !state.mayControl || state.you;
  $('release').disabled = !state.you;
  screen.classList.toggle('controlled', state.you);
}

if (hid) {
  capture(screen, () => view?.surface() || screen, hid, {enabled: mayType, relative: () => state.relative});
  screen.addEventListener('click', () => screen.focus());
  $('takeover').addEventListener('click', () => { hid.send({t: 'takeover'}); screen.focus(); });
  $('release').addEventListener('click', () => hid.send({t: 'release'}));
  $('send-chord').addEventListener('click', () => {
    hid.send({t: 'chord', codes: $('chord').value.split(',')});
    screen.focus();
  });
  $('paste').addEventListener('click', () => {
    const text = $('paste-text').value;
    if (!text) return;
    state.pasting = true;
    $('paste').disabled = true;
    $('paste-status').textContent = 'typing…';
    hid.send({t: 'paste', text, layout: $('paste-layout').value});
  });
}

// The view opens after the HID connection, which so joins the input hub
// first and gets control when nobody has it (the VNC server gives control
// to the first connection too).
if (sys.display) {
  if (sys.vnc) {
    try { view = await vncView(screen, sys.id, videoStatus); } catch (e) { console.warn('noVNC', e); }
  }
  if (!view) view = mjpegView(screen, sys.id, videoStatus);
  screen.dataset.view = view.kind;
} else {
  screen.classList.add('none');
  screen.textContent = sys.console ? 'This machine has no screen.' : 'This machine has no console.';
}

// --- serial console ---
if (sys.serial) {
  const serial = await startSerial($('serial'), sys.id, {canType: () => user.control, xterm: config.xterm});
  window.bmcdConsole.serialText = serial.text;
} else {
  $('serial').textContent = 'This machine has no serial console.';
  window.bmcdConsole.serialText = () => '';
}

// --- power and the identify LED ---
let resetTypes = null;
async function refreshSystem() {
  const s = await redfish(systemPath);
  state.power = s.PowerState;
  const starting = s.Status?.State === 'Starting';
  $('power-state').textContent = s.PowerState + (starting ? ' (POST)' : '');
  $('power-state').className = (s.PowerState || '').toLowerCase();
  $('health').textContent = s.Status?.Health ? `health ${s.Status.Health}` : '';
  const lit = !!s.LocationIndicatorActive;
  $('identify').setAttribute('aria-pressed', String(lit));
  $('identify').classList.toggle('on', lit);
  if (!resetTypes) {
    const action = s.Actions?.['#ComputerSystem.Reset'];
    resetTypes = action?.['ResetType@Redfish.AllowableValues'] || null;
    if (!resetTypes && action?.['@Redfish.ActionInfo']) {
      const info = await redfish(action['@Redfish.ActionInfo']);
      resetTypes = info.Parameters?.find((p) => p.Name === 'ResetType')?.AllowableValues || [];
    }
    for (const b of document.querySelectorAll('[data-reset]')) {
      b.hidden = !(resetTypes || []).includes(b.dataset.reset);
    }
  }
}
const confirmText = {
  ForceOff: 'Cut the power of system %s now? The OS gets no chance to shut down.',
  ForceRestart: 'Reset system %s now? The OS gets no chance to shut down.',
  GracefulShutdown: 'Ask the OS of system %s to shut down?',
};
for (const b of document.querySelectorAll('[data-reset]')) {
  b.addEventListener('click', async () => {
    const type = b.dataset.reset;
    if (confirmText[type] && !confirm(confirmText[type].replace('%s', sys.id))) return;
    try {
      await redfish(`${systemPath}/Actions/ComputerSystem.Reset`, {method: 'POST', body: {ResetType: type}});
      notice(`${type} sent`);
    } catch (e) {
      notice(`${type}: ${e.message}`, 'error');
    }
    refreshSystem();
  });
}
$('identify').addEventListener('click', async () => {
  const on = $('identify').getAttribute('aria-pressed') !== 'true';
  try {
    await redfish(systemPath, {method: 'PATCH', body: {LocationIndicatorActive: on}});
  } catch (e) {
    notice(`identify LED: ${e.message}`, 'error');
  }
  refreshSystem();
});
every(3000, refreshSystem);

// --- virtual media ---
const media = new Media(systemPath, {canUse: () => user.media, status: (s) => { $('media-status').textContent = s; }});
window.bmcdConsole.media = media;
every(10000, () => media.refresh());

// --- who watches ---
if (sys.console) {
  every(3000, async () => {
    const [v, s] = await Promise.all([getJSON(`${kvm}/viewers`), sys.display ? getJSON(`${kvm}/state`) : null]);
    videoState = s;
    renderVideoStatus();
    const me = state.hello?.name;
    $('viewers').replaceChildren(...v.clients.map((c) => el('li', {class: c.controls ? 'controls' : ''},
      c.name, ' ', el('span', {class: 'muted'}, `(${c.kind}${c.name === me ? ', you' : ''}${c.may_control ? '' : ', view only'})`),
      c.controls ? el('b', {}, ' has control') : '')));
  });
}
window.bmcdConsole.ready = true;
