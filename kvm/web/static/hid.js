// The WebSocket HID connection (/kvm/{id}/hid, docs/console.md "WebSocket
// HID protocol") and the capture of the browser's keyboard and mouse on
// the screen element.
import {wsURL} from './common.js';

// Hid keeps one connection open (reconnecting after a loss) and hands
// each server message to on[message.t].
export class Hid {
  constructor(systemId, on) {
    this.url = wsURL(`/kvm/${encodeURIComponent(systemId)}/hid`);
    this.on = on;
    this.ws = null;
    this.delay = 500;
    this.connect();
  }

  connect() {
    const ws = new WebSocket(this.url, ['bmcd.hid']);
    this.ws = ws;
    ws.onopen = () => { this.delay = 500; this.on.open?.(); };
    ws.onmessage = (ev) => {
      let m;
      try { m = JSON.parse(ev.data); } catch { return; }
      this.on[m.t]?.(m);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.on.close?.();
      setTimeout(() => this.connect(), this.delay);
      this.delay = Math.min(this.delay * 2, 8000);
    };
  }

  get open() { return this.ws?.readyState === WebSocket.OPEN; }

  send(m) {
    if (this.open) this.ws.send(JSON.stringify(m));
  }
}

const WHEEL_PIXELS = 100; // pixels of a DOM pixel-mode wheel per detent

// capture sends the keyboard and mouse of the element focus (keys while it
// or an element in it has focus) and surface() (the element the picture
// fills: positions are scaled to 0..32767 over it) through hid, while
// enabled() holds. relative() says the machine's pointer takes relative
// moves only. The listeners run in the capture phase, before the view's
// own (noVNC's canvas stops the events it sees), and keep the events they
// take from it.
export function capture(focus, surface, hid, {enabled, relative}) {
  const on = (type, f, opts = {}) => focus.addEventListener(type, f, {capture: true, ...opts});
  const held = new Set();
  const key = (e, down) => {
    if (!enabled() || !e.code || e.code === 'Unidentified') return;
    e.preventDefault();
    e.stopPropagation();
    if (down && e.repeat) return; // the host repeats a held key itself
    if (down) held.add(e.code); else held.delete(e.code);
    hid.send({t: 'key', code: e.code, down});
  };
  on('keydown', (e) => key(e, true));
  on('keyup', (e) => key(e, false));
  // Keys held when the page loses focus would stay down on the host.
  const releaseAll = () => {
    for (const code of held) hid.send({t: 'key', code, down: false});
    held.clear();
  };
  focus.addEventListener('blur', releaseAll);
  window.addEventListener('blur', releaseAll);

  let pending = null;
  let lastButtons = 0;
  const position = (e) => {
    const r = surface().getBoundingClientRect();
    if (!r.width || !r.height) return null;
    const clamp = (v) => Math.max(0, Math.min(32767, Math.round(v)));
    return {x: clamp((e.clientX - r.left) / r.width * 32767), y: clamp((e.clientY - r.top) / r.height * 32767)};
  };
  let dx = 0;
  let dy = 0;
  const flush = () => {
    if (pending) hid.send(pending);
    if (dx || dy) hid.send({t: 'mouse', dx, dy});
    pending = null;
    dx = dy = 0;
  };
  let frame = 0;
  const schedule = () => {
    if (!frame) frame = requestAnimationFrame(() => { frame = 0; flush(); });
  };
  on('mousemove', (e) => {
    if (!enabled()) return;
    e.stopPropagation();
    if (relative()) {
      if (document.pointerLockElement !== focus) return;
      dx += e.movementX;
      dy += e.movementY;
    } else {
      const p = position(e);
      if (!p) return;
      pending = {t: 'mouse', x: p.x, y: p.y};
    }
    schedule();
  });
  const buttons = (e) => {
    if (!enabled()) return;
    e.preventDefault();
    e.stopPropagation();
    focus.focus();
    if (relative() && document.pointerLockElement !== focus && e.type === 'mousedown') {
      focus.requestPointerLock?.();
      return;
    }
    if (!relative()) {
      const p = position(e);
      if (p) pending = {t: 'mouse', x: p.x, y: p.y};
    }
    flush();
    if (e.buttons !== lastButtons) {
      lastButtons = e.buttons;
      hid.send({t: 'buttons', mask: e.buttons & 31});
    }
  };
  on('mousedown', buttons);
  on('mouseup', buttons);
  on('contextmenu', (e) => { if (enabled()) e.preventDefault(); });
  let wheelX = 0;
  let wheelY = 0;
  on('wheel', (e) => {
    if (!enabled()) return;
    e.preventDefault();
    e.stopPropagation();
    const scale = e.deltaMode === 0 ? 1 / WHEEL_PIXELS : 1; // lines and pages: one detent each
    wheelX += e.deltaX * scale;
    wheelY += e.deltaY * scale;
    const sx = Math.trunc(wheelX);
    const sy = Math.trunc(wheelY);
    if (sx || sy) {
      wheelX -= sx;
      wheelY -= sy;
      const lim = (v) => Math.max(-127, Math.min(127, v));
      hid.send({t: 'wheel', dx: lim(sx), dy: lim(sy)});
    }
  }, {passive: false});
}
