// The serial console pane: /kvm/{id}/serial (binary both ways; text
// messages are notices such as "view only: ..."), shown in xterm.js when
// the build embeds it, else in a plain text pane.
import {wsURL} from './common.js';

// startSerial opens the pane in el; canType says whether keys are sent.
// It returns {text(): what the pane shows, as plain lines}.
export async function startSerial(el, systemId, {canType, xterm}) {
  let term = null;
  if (xterm) {
    try { term = await xtermTerminal(el); } catch (e) { console.warn('xterm.js', e); }
  }
  if (!term) term = new PlainTerminal(el);
  const url = wsURL(`/kvm/${encodeURIComponent(systemId)}/serial`);
  const encoder = new TextEncoder();
  let ws = null;
  let delay = 500;
  const connect = () => {
    const s = new WebSocket(url, ['bmcd.serial']);
    s.binaryType = 'arraybuffer';
    s.onopen = () => { delay = 500; term.reset(); }; // the server replays the recent output
    s.onmessage = (ev) => {
      if (typeof ev.data === 'string') term.notice(ev.data);
      else term.write(new Uint8Array(ev.data));
    };
    s.onclose = () => {
      if (ws !== s) return;
      term.notice('serial console disconnected, reconnecting…');
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 8000);
    };
    ws = s;
  };
  term.onData((d) => {
    if (canType() && ws?.readyState === WebSocket.OPEN) ws.send(encoder.encode(d));
  });
  connect();
  return {text: () => term.text()};
}

async function xtermTerminal(el) {
  const {Terminal} = await import('./vendor/xterm/xterm.mjs');
  const {FitAddon} = await import('./vendor/xterm/addon-fit.mjs');
  if (!document.querySelector('link[data-xterm]')) {
    const css = document.createElement('link');
    css.rel = 'stylesheet';
    css.href = '/console/static/vendor/xterm/xterm.css';
    css.dataset.xterm = '';
    document.head.append(css);
  }
  const t = new Terminal({convertEol: false, scrollback: 5000, fontSize: 12, theme: {background: '#111418'}});
  const fit = new FitAddon();
  t.loadAddon(fit);
  el.classList.add('xterm-pane');
  t.open(el);
  // The terminal takes the pane's size; the host is told nothing (a serial
  // line has no window size), so long lines wrap here.
  new ResizeObserver(() => { if (el.offsetWidth) fit.fit(); }).observe(el);
  return {
    write: (b) => t.write(b),
    notice: (s) => t.write(`\r\n\x1b[33m[${s}]\x1b[0m\r\n`),
    reset: () => t.reset(),
    onData: (f) => t.onData(f),
    text: () => {
      const b = t.buffer.active;
      let out = '';
      for (let i = 0; i < b.length; i++) {
        const line = b.getLine(i);
        if (!line) continue;
        if (i > 0 && !line.isWrapped) out += '\n'; // a wrapped line goes on the one before
        out += line.translateToString(true);
      }
      return out;
    },
  };
}

// PlainTerminal is the pane without xterm.js: the output as text (escape
// sequences dropped, backspaces applied), typing while it has focus.
class PlainTerminal {
  constructor(el) {
    this.pre = document.createElement('pre');
    this.pre.className = 'plain-term';
    this.pre.tabIndex = 0;
    el.append(this.pre);
    this.decoder = new TextDecoder();
    this.buf = '';
  }

  write(bytes) {
    let s = this.decoder.decode(bytes, {stream: true});
    s = s.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '').replace(/\x1b[@-_]/g, '').replace(/\r(?!\n)/g, '').replace(/\r\n/g, '\n');
    for (const ch of s) {
      if (ch === '\b') this.buf = this.buf.slice(0, -1);
      else if (ch >= ' ' || ch === '\n' || ch === '\t') this.buf += ch;
    }
    if (this.buf.length > 200000) this.buf = this.buf.slice(-100000);
    this.pre.textContent = this.buf;
    this.pre.scrollTop = this.pre.scrollHeight;
  }

  notice(s) { this.write(new TextEncoder().encode(`\n[${s}]\n`)); }

  reset() { this.buf = ''; this.pre.textContent = ''; }

  text() { return this.buf; }

  onData(f) {
    const keys = {Enter: '\r', Backspace: '\x7f', Tab: '\t', Escape: '\x1b', ArrowUp: '\x1b[A',
      ArrowDown: '\x1b[B', ArrowRight: '\x1b[C', ArrowLeft: '\x1b[D', Home: '\x1b[H', End: '\x1b[F', Delete: '\x1b[3~'};
    this.pre.addEventListener('keydown', (e) => {
      let d = keys[e.key];
      if (!d && e.ctrlKey && /^[a-z]$/i.test(e.key)) d = String.fromCharCode(e.key.toUpperCase().charCodeAt(0) - 64);
      else if (!d && e.key.length === 1 && !e.ctrlKey && !e.metaKey) d = e.key;
      if (!d) return;
      e.preventDefault();
      f(d);
    });
    this.pre.addEventListener('paste', (e) => {
      e.preventDefault();
      f(e.clipboardData.getData('text').replace(/\r?\n/g, '\r'));
    });
  }
}
