// The screen: noVNC's RFB view of /kvm/{id}/vnc when bmcd serves it and
// embeds noVNC, else the MJPEG stream in an <img>. Either way the view only
// shows the picture; keyboard and mouse go through the HID WebSocket
// (hid.js), so paste layouts, take-over and view-only work the same.
//
// A view is {surface(): the element the picture fills, destroy()}.

// mjpegView shows /kvm/{id}/stream.mjpeg on a canvas, reconnecting when
// the stream breaks (bmcd restarted, network). The page reads the stream
// itself rather than handing it to an <img>: Chrome shows a part of a
// multipart image only once the next part's headers arrive, a frame late,
// and a screen that stops changing would stay a frame behind, or blank.
export function mjpegView(container, systemId, status) {
  const canvas = document.createElement('canvas');
  canvas.className = 'mjpeg';
  canvas.width = 1024;
  canvas.height = 768;
  const g = canvas.getContext('2d');
  container.append(canvas);
  const url = `/kvm/${encodeURIComponent(systemId)}/stream.mjpeg`;
  let abort = new AbortController();
  let stopped = false;
  let retry;
  let pending = null; // the latest JPEG not drawn yet
  let drawing = false;
  const draw = async () => {
    if (drawing) return;
    drawing = true;
    while (pending) {
      const jpeg = pending;
      pending = null;
      try {
        const bmp = await createImageBitmap(new Blob([jpeg], {type: 'image/jpeg'}));
        if (canvas.width !== bmp.width || canvas.height !== bmp.height) {
          canvas.width = bmp.width;
          canvas.height = bmp.height;
        }
        g.drawImage(bmp, 0, 0);
        bmp.close();
        canvas.dataset.frames = String(Number(canvas.dataset.frames || 0) + 1);
      } catch (e) {
        console.warn('MJPEG frame', e);
      }
    }
    drawing = false;
  };
  const run = async () => {
    try {
      const res = await fetch(url, {credentials: 'same-origin', cache: 'no-store', signal: abort.signal});
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      status('');
      await readParts(res.body.getReader(), (jpeg) => { pending = jpeg; draw(); });
      throw new Error('the stream ended');
    } catch (e) {
      if (stopped) return;
      status(`video stream lost (${e.message}), reconnecting…`);
      abort = new AbortController();
      retry = setTimeout(run, 2000);
    }
  };
  run();
  return {
    kind: 'mjpeg',
    surface: () => canvas,
    destroy() { stopped = true; clearTimeout(retry); abort.abort(); canvas.remove(); },
  };
}

const CRLF2 = [13, 10, 13, 10];

function indexOf(buf, pat, from = 0) {
  outer: for (let i = from; i <= buf.length - pat.length; i++) {
    for (let j = 0; j < pat.length; j++) if (buf[i + j] !== pat[j]) continue outer;
    return i;
  }
  return -1;
}

// readParts reads a multipart/x-mixed-replace body whose parts carry
// Content-Length (bmcd's MJPEG stream) and hands each part's body to
// onPart.
export async function readParts(reader, onPart) {
  let buf = new Uint8Array(0);
  let need = -1; // the body length of the part being read; -1: reading headers
  const dec = new TextDecoder();
  for (;;) {
    const {value, done} = await reader.read();
    if (done) return;
    const joined = new Uint8Array(buf.length + value.length);
    joined.set(buf);
    joined.set(value, buf.length);
    buf = joined;
    for (;;) {
      if (need < 0) {
        const end = indexOf(buf, CRLF2);
        if (end < 0) break;
        const head = dec.decode(buf.subarray(0, end));
        const m = /content-length:\s*(\d+)/i.exec(head);
        buf = buf.subarray(end + 4);
        need = m ? Number(m[1]) : -1;
        if (need < 0) continue; // the boundary's preamble, or a part without a length: skip it
      }
      if (buf.length < need) break;
      onPart(buf.slice(0, need));
      buf = buf.subarray(need);
      need = -1;
    }
  }
}

// vncView shows /kvm/{id}/vnc through noVNC, view-only and scaled to the
// container.
export async function vncView(container, systemId, status) {
  const {default: RFB} = await import('./vendor/novnc/core/rfb.js');
  const proto = location.protocol === 'https:' ? 'wss://' : 'ws://';
  const url = `${proto}${location.host}/kvm/${encodeURIComponent(systemId)}/vnc`;
  const box = document.createElement('div');
  box.className = 'vnc';
  container.append(box);
  let rfb;
  let stopped = false;
  const connect = () => {
    rfb = new RFB(box, url, {wsProtocols: ['binary']});
    rfb.viewOnly = true;
    rfb.scaleViewport = true;
    rfb.focusOnClick = false;
    rfb.addEventListener('connect', () => status(''));
    rfb.addEventListener('disconnect', () => {
      if (stopped) return;
      status('VNC connection lost, reconnecting…');
      setTimeout(connect, 2000);
    });
  };
  connect();
  return {
    kind: 'vnc',
    surface: () => box.querySelector('canvas') || box,
    destroy() { stopped = true; rfb?.disconnect(); box.remove(); },
  };
}
