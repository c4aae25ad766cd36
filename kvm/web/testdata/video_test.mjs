// node --test: the page's MJPEG reader (static/video.js readParts) on
// bmcd's stream, however the network splits it.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {readParts} from '../static/video.js';

const enc = new TextEncoder();
const B = 'boundarydonotcross';

function stream(frames) {
  const parts = [enc.encode(`--${B}\r\n`)];
  for (const f of frames) {
    parts.push(enc.encode(`Content-Type: image/jpeg\r\nContent-Length: ${f.length}\r\nX-Timestamp: 1.000000\r\n\r\n`), f,
      enc.encode(`\r\n--${B}\r\n`));
  }
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { all.set(p, o); o += p.length; }
  return all;
}

// reader hands out buf in chunks of the given sizes (cycling).
function reader(buf, sizes) {
  let o = 0;
  let i = 0;
  return {
    async read() {
      if (o >= buf.length) return {done: true};
      const n = sizes[i++ % sizes.length];
      const value = buf.subarray(o, o + n);
      o += n;
      return {value, done: false};
    },
  };
}

const frames = [
  enc.encode('\xff\xd8first\r\n\r\nframe with CRLFs\xff\xd9'),
  new Uint8Array(70000).map((_, i) => (i * 7) & 0xff),
  enc.encode('x'),
];

for (const sizes of [[1], [3, 17], [4096], [1 << 20]]) {
  test(`parts split in chunks of ${sizes}`, async () => {
    const got = [];
    await readParts(reader(stream(frames), sizes), (p) => got.push(p));
    assert.equal(got.length, frames.length);
    for (let i = 0; i < frames.length; i++) assert.deepEqual(got[i], frames[i]);
  });
}

test('a part is handed over as soon as it is whole', async () => {
  const s = stream([enc.encode('abc')]);
  const cut = s.length - `\r\n--${B}\r\n`.length; // the trailing boundary not yet sent
  const got = [];
  await readParts(reader(s.subarray(0, cut), [cut]), (p) => got.push(p));
  assert.equal(got.length, 1);
});
