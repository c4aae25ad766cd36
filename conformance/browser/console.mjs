// The web console driven as an operator drives it: Debian's chromium,
// headless, through playwright-core, against a running bmcd (started by
// console_browser_test.go). Each step prints "ok: ..."; the first that
// fails throws, and the script exits 1 (2 for a setup problem, 3 when
// chromium cannot start, which the Go test reports as a skip).
//
// Environment: BMCD_URL, ADMIN_USER/ADMIN_PASSWORD, VIEWER_USER/
// VIEWER_PASSWORD (a ReadOnly account), SCREENSHOT (where to save the
// page's screenshot), OUT_DIR (failure screenshots).
import {chromium} from 'playwright-core';
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';

const env = (k) => {
  const v = process.env[k];
  if (!v) {
    console.error(`setup: ${k} is not set`);
    process.exit(2);
  }
  return v;
};
const base = env('BMCD_URL');
const outDir = env('OUT_DIR');
const sys = '0';
const STEP_MS = 15000;

let browser;
try {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    timeout: 30000,
  });
} catch (e) {
  console.error(`chromium cannot start: ${e.message}`);
  process.exit(3);
}

const pages = [];
const problems = [];
async function newPage(name) {
  const ctx = await browser.newContext({ignoreHTTPSErrors: true, viewport: {width: 1440, height: 900}, acceptDownloads: true});
  const page = await ctx.newPage();
  page.setDefaultTimeout(STEP_MS);
  page.on('pageerror', (e) => problems.push(`${name}: page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`${name}: console error: ${m.text()}`); });
  page.on('dialog', (d) => d.accept()); // the power buttons' confirmations
  pages.push([name, page]);
  return page;
}

function ok(msg) { console.log('ok: ' + msg); }

async function login(page, user, password, path) {
  await page.goto(base + path);
  if (!page.url().includes('/console/login')) throw new Error(`${path} without a session went to ${page.url()}, not the login form`);
  await page.fill('#user', user);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(base + path), page.click('#login')]);
}

// consoleReady waits for the machine page's script to have started.
async function consoleReady(page) {
  await page.waitForFunction(() => window.bmcdConsole?.ready === true);
}

const serialText = (page) => page.evaluate(() => window.bmcdConsole.serialText());

// seen counts what the serial pane shows of re.
const seen = async (page, re) => ((await serialText(page)).match(new RegExp(re.source, 'g')) || []).length;

// waitSerial waits until the serial pane shows re (a RegExp), count times.
async function waitSerial(page, re, what, count = 1, timeout = STEP_MS) {
  const deadline = Date.now() + timeout;
  let text = '';
  while (Date.now() < deadline) {
    text = await serialText(page);
    const n = (text.match(new RegExp(re.source, 'g')) || []).length;
    if (n >= count) return text;
    await page.waitForTimeout(100);
  }
  throw new Error(`the serial pane does not show ${what} (${re}) ${count} time(s) after ${timeout} ms; it shows:\n${text.slice(-1500)}`);
}

// screen reads the picture the page shows (the MJPEG <img> or noVNC's
// canvas): its size, the number of bright pixels and a hash of it.
const screen = (page) => page.evaluate(() => {
  const src = document.querySelector('#screen canvas');
  if (!src) return null;
  const w = src.naturalWidth || src.width;
  const h = src.naturalHeight || src.height;
  if (!w || !h) return {w: 0, h: 0, bright: 0, hash: 0};
  const c = document.createElement('canvas');
  c.width = w;
  c.height = h;
  const g = c.getContext('2d');
  g.drawImage(src, 0, 0);
  const d = g.getImageData(0, 0, w, h).data;
  let bright = 0;
  let hash = 0;
  for (let i = 0; i < d.length; i += 4) {
    const v = d[i] + d[i + 1] + d[i + 2];
    if (v > 300) bright++;
    hash = (Math.imul(hash, 31) + (v >> 5)) | 0;
  }
  return {w, h, bright, hash};
});

async function waitScreen(page, cond, what) {
  const deadline = Date.now() + STEP_MS;
  let s;
  while (Date.now() < deadline) {
    s = await screen(page);
    if (s && cond(s)) return s;
    await page.waitForTimeout(150);
  }
  throw new Error(`the screen never showed ${what}; last: ${JSON.stringify(s)}`);
}

async function main() {
  // Log in: the console page sends a browser without a session to the form.
  const admin = await newPage('admin');
  await login(admin, env('ADMIN_USER'), env('ADMIN_PASSWORD'), `/console/${sys}`);
  await consoleReady(admin);
  const cookies = await admin.context().cookies();
  const c = cookies.find((x) => x.name === 'bmcd_session');
  if (!c || !c.httpOnly || c.sameSite !== 'Strict' || !c.secure) throw new Error(`session cookie ${JSON.stringify(c)}`);
  const sessions = await admin.evaluate(async () => {
    const r = await fetch('/console/redfish/v1/SessionService/Sessions?$expand=.($levels=1)');
    return (await r.json()).Members.map((m) => m.UserName);
  });
  if (!sessions.includes('admin')) throw new Error(`Redfish lists sessions of ${sessions}, not the console's`);
  ok('logged in through the form; the session cookie is HttpOnly, Secure, SameSite=Strict, and Redfish lists the session');

  // Power on; the POST screen and the firmware's banner.
  await admin.waitForSelector('[data-reset="On"]:not([hidden]):not([disabled])');
  await admin.click('[data-reset="On"]');
  await waitSerial(admin, /BIOS /, 'the firmware banner');
  const post = await waitScreen(admin, (s) => s.w === 1024 && s.h === 768 && s.bright > 2000, 'the POST screen');
  await waitSerial(admin, /login: /, 'the login prompt');
  await admin.waitForSelector('#power-state.on');
  const kind = await admin.getAttribute('#screen', 'data-view');
  ok(`powered on: the POST screen (${kind} view, ${post.w}x${post.h}, ${post.bright} bright pixels), the firmware banner and the login prompt`);

  // Type: keys go to the host, its shell echoes on the serial line and
  // the screen.
  await admin.click('#screen');
  const before = await screen(admin);
  await admin.keyboard.type('root\n');
  await waitSerial(admin, /Welcome to bmcd/, 'the shell\'s welcome');
  await admin.keyboard.type('echo typed-in-the-browser\n');
  await waitSerial(admin, /typed-in-the-browser/, 'the typed line and its echo', 2);
  await waitScreen(admin, (s) => s.hash !== before.hash, 'the typed line');
  const control = await admin.textContent('#control');
  if (!/You have control/.test(control)) throw new Error(`control: ${control}`);
  await admin.keyboard.press('NumLock');
  await admin.waitForSelector('#led-num.on');
  await admin.keyboard.press('NumLock');
  await admin.waitForSelector('#led-num:not(.on)');
  ok('typed a line: the host echoed it on the serial pane and the screen changed; this page has control; Num Lock lights its LED');

  // A ReadOnly account watches: it sees the typing, and cannot type.
  const viewer = await newPage('viewer');
  await login(viewer, env('VIEWER_USER'), env('VIEWER_PASSWORD'), `/console/${sys}`);
  await consoleReady(viewer);
  await viewer.waitForFunction(() => /View only/.test(document.getElementById('control').textContent));
  for (const sel of ['[data-reset="ForceRestart"]', '#takeover', '#paste', '#insert', '#identify']) {
    if (!(await viewer.isDisabled(sel))) throw new Error(`${sel} is enabled for a ReadOnly account`);
  }
  await waitSerial(viewer, /typed-in-the-browser/, 'what the operator typed before', 2);
  const viewerBefore = await waitScreen(viewer, (s) => s.w === 1024 && s.bright > 2000, 'the screen');
  await admin.click('#screen');
  await admin.keyboard.type('echo seen-by-the-viewer\n');
  await waitSerial(viewer, /seen-by-the-viewer/, 'the operator\'s typing, live', 2);
  await waitScreen(viewer, (s) => s.hash !== viewerBefore.hash, 'the operator\'s typing');
  await viewer.click('#screen');
  await viewer.keyboard.type('xyzzy\n');
  // Even a message sent straight down its HID WebSocket is refused.
  const refused = await viewer.evaluate(() => new Promise((resolve) => {
    const hid = window.bmcdConsole.hid;
    const prev = hid.on.error;
    hid.on.error = (m) => { hid.on.error = prev; resolve(m.code); };
    hid.send({t: 'key', code: 'KeyQ', down: true});
    hid.send({t: 'key', code: 'KeyQ', down: false});
    setTimeout(() => resolve('no answer'), 3000);
  }));
  if (refused !== 'not_permitted') throw new Error(`the ReadOnly page's key was answered ${refused}, not not_permitted`);
  await admin.waitForTimeout(300);
  if (/xyzzy|q\r?\n?$/.test((await serialText(admin)).trimEnd())) throw new Error('the ReadOnly page typed into the host');
  const viewers = await admin.evaluate(async () => (await (await fetch('/kvm/0/viewers')).json()).clients.map((c) => c.name));
  if (!viewers.some((n) => n.startsWith('viewer@')) || !viewers.some((n) => n.startsWith('admin@'))) {
    throw new Error(`viewers ${viewers}`);
  }
  await admin.waitForFunction(() => document.getElementById('viewers').textContent.includes('viewer@'));
  ok('a ReadOnly account sees the operator\'s typing live, its controls are disabled, its keys are refused; both are in the viewer list');

  // Paste through the host's layout: the page picks the machine's (us,
  // bmcd's default), and the text reaches the host as written.
  const layout = await admin.$eval('#paste-layout', (s) => [s.value, s.selectedOptions[0].textContent]);
  if (layout[0] !== 'us' || !/the host's/.test(layout[1])) throw new Error(`the paste layout is ${layout}, not the host's us`);
  const pasted = 'echo pasted-as-written ~!@#$%^&*()_+{}|:"<>?`-=[]\\;\',./';
  await admin.fill('#paste-text', pasted + '\n');
  await admin.click('#paste');
  await admin.waitForFunction(() => /typed \d+ characters/.test(document.getElementById('paste-status').textContent));
  await waitSerial(admin, /pasted-as-written/, 'the pasted line and its echo', 2);
  if (!(await serialText(admin)).includes(pasted)) throw new Error(`the host did not get ${pasted} as written:\n${(await serialText(admin)).slice(-400)}`);
  ok('pasted a line with every ASCII punctuation mark: typed through the host\'s layout (us), echoed by the host as written');

  // Another page takes over: this one is told, and views only.
  const other = await admin.context().newPage();
  other.setDefaultTimeout(STEP_MS);
  await other.goto(`${base}/console/${sys}`, {waitUntil: 'domcontentloaded'});
  await consoleReady(other);
  await other.waitForSelector('#takeover:not([disabled])');
  await other.click('#takeover');
  await other.waitForFunction(() => /You have control/.test(document.getElementById('control').textContent));
  await admin.waitForFunction(() => {
    const n = document.getElementById('notice');
    return !n.hidden && /took over the console/.test(n.textContent) &&
      /View only: .* has control/.test(document.getElementById('control').textContent);
  });
  await other.close();
  await admin.waitForFunction(() => /Nobody has control/.test(document.getElementById('control').textContent));
  await admin.click('#takeover');
  await admin.waitForFunction(() => /You have control/.test(document.getElementById('control').textContent));
  ok('another page took over: this one said so and viewed only, then took control back');

  // Ctrl+Alt+Del from the chords: the simulated OS reboots.
  const boots = await seen(admin, /BIOS /);
  await admin.selectOption('#chord', 'ControlLeft,AltLeft,Delete');
  await admin.click('#send-chord');
  await waitSerial(admin, /Reached target System Reboot/, 'the OS rebooting');
  await waitSerial(admin, /BIOS /, 'the firmware again', boots + 1);
  ok('sent Ctrl+Alt+Del: the host rebooted');

  // The image store: upload an ISO from the page, insert it, boot it.
  const iso = Buffer.alloc(64 << 10);
  iso[32768] = 1;
  iso.write('CD001', 32769, 'latin1');
  iso[32774] = 1;
  await admin.setInputFiles('#upload-file', {name: 'x.iso', mimeType: 'application/octet-stream', buffer: iso});
  await admin.waitForFunction(() => /uploaded x\.iso/.test(document.getElementById('media-status').textContent));
  const value = await admin.evaluate(() => [...document.getElementById('media-image').options].find((o) => o.dataset.name === 'x.iso')?.value);
  if (!value || !value.includes('/media/')) throw new Error(`the stored image's URL: ${value}`);
  await admin.selectOption('#media-image', value);
  await admin.selectOption('#media-slot', 'CD');
  await admin.check('#media-boot');
  await admin.click('#insert');
  await admin.waitForFunction(() => /inserted into CD; the next boot is from Cd/.test(document.getElementById('media-status').textContent));
  await admin.waitForFunction(() => /x\.iso/.test(document.querySelector('.slot[data-slot="CD"]')?.textContent || ''));
  ok('uploaded x.iso through the page, inserted it into the CD slot with a one-time boot from it');

  // Reset: the machine POSTs again and boots the CD.
  const banners = await seen(admin, /BIOS /);
  const prompts = await seen(admin, /login: /);
  await admin.click('#reset');
  await waitSerial(admin, /BIOS /, 'a second firmware banner', banners + 1);
  await waitSerial(admin, /Booting from Cd: https?:\/\/[^\s]*x\.iso/, 'the firmware booting the CD');
  await waitSerial(viewer, /Booting from Cd: https?:\/\/[^\s]*x\.iso/, 'the firmware booting the CD (viewer)');
  ok('Reset: the machine POSTed again and booted from the inserted CD (the serial panes say "Booting from Cd: …x.iso")');

  // The identify LED.
  await admin.click('#identify');
  await admin.waitForSelector('#identify[aria-pressed="true"]');
  await admin.click('#identify');
  await admin.waitForSelector('#identify[aria-pressed="false"]');
  ok('the identify LED turns on and off');

  // The screenshot button downloads the screen as PNG.
  await waitSerial(admin, /login: /, 'the login prompt after the reboot', prompts + 1);
  const welcomes = await seen(admin, /Welcome to bmcd/);
  await admin.click('#screen');
  await admin.keyboard.type('root\n');
  await waitSerial(admin, /Welcome to bmcd/, 'the shell\'s welcome', welcomes + 1);
  await admin.keyboard.type('uname -a\n');
  await waitSerial(admin, /GNU\/Linux/, 'uname\'s answer');
  const [download] = await Promise.all([admin.waitForEvent('download'), admin.click('#screenshot')]);
  const png = await download.path().then((p) => import('node:fs').then((fs) => fs.readFileSync(p)));
  if (png.toString('latin1', 1, 4) !== 'PNG' || png.readUInt32BE(16) !== 1024 || png.readUInt32BE(20) !== 768) {
    throw new Error(`the screenshot is not a 1024x768 PNG (${png.length} bytes)`);
  }
  ok(`the screenshot button downloads the screen (${download.suggestedFilename()}, 1024x768 PNG)`);

  // An idle console keeps its noVNC views: the server answers a request
  // left pending 10 s on an unchanged screen with an empty update, and
  // drops a viewer silent 20 s after an update; noVNC answers each with
  // its next request. The same VNC clients (numbers unchanged: none
  // reconnected) are there after 32 s, and this page kept control.
  const vncClients = () => admin.evaluate(async () =>
    (await (await fetch('/kvm/0/viewers')).json()).clients.filter((c) => c.kind === 'vnc').map((c) => c.name).join(' '));
  const vncBefore = await vncClients();
  if (vncBefore.split(' ').filter(Boolean).length < 2) throw new Error(`the noVNC views: ${vncBefore}`);
  await admin.waitForTimeout(32000);
  const vncAfter = await vncClients();
  if (vncAfter !== vncBefore) throw new Error(`after 32 s idle the VNC clients are ${vncAfter}, were ${vncBefore}`);
  if (!/You have control/.test(await admin.textContent('#control'))) throw new Error('the idle page lost control');
  ok(`an idle screen for 32 s: the noVNC views stayed connected (${vncAfter}) and this page kept control`);

  // The page, for docs/console.md.
  await admin.locator('#screen').blur();
  await admin.mouse.move(0, 0);
  await admin.evaluate(() => { window.scrollTo(0, 0); document.getElementById('notice').hidden = true; });
  await admin.waitForTimeout(500);
  writeFileSync(env('SCREENSHOT'), await admin.screenshot({type: 'png'}));
  ok('saved the page\'s screenshot');

  // All systems at a glance.
  await admin.goto(base + '/console/');
  await admin.waitForSelector(`.card[data-id="${sys}"] img.thumb:not([hidden])`);
  await admin.waitForFunction((id) => document.querySelector(`.card[data-id="${id}"] .power`).textContent.startsWith('On'), sys);
  const thumb = await admin.evaluate((id) => document.querySelector(`.card[data-id="${id}"] img.thumb`).naturalWidth, sys);
  if (thumb < 160 || thumb > 640) throw new Error(`thumbnail width ${thumb}: want one of the card's size, not the 1024 px screen`);
  const cards = await admin.locator('.card').count();
  await admin.fill('#filter', 'sim-1');
  await admin.waitForFunction(() => document.getElementById('count').textContent.startsWith('1 of'));
  await admin.fill('#filter', '');
  await Promise.all([admin.waitForURL(`${base}/console/${sys}`), admin.click(`.card[data-id="${sys}"]`)]);
  await consoleReady(admin);
  ok(`the index shows ${cards} systems with power state and a live ${thumb} px thumbnail, filters, and opens a console in one click`);

  // Log out: the session ends, the console asks for a login again.
  await Promise.all([admin.waitForURL(/\/console\/login/), admin.click('#logout')]);
  await admin.goto(`${base}/console/${sys}`);
  if (!admin.url().includes('/console/login')) throw new Error(`after logout, the console page is ${admin.url()}`);
  ok('logged out: the console page asks for a login again');

  const real = problems.filter((p) => !/Failed to load resource.*(503|401)/.test(p));
  if (real.length) throw new Error('the pages reported errors:\n' + real.join('\n'));
}

try {
  await main();
  await browser.close();
} catch (e) {
  console.error('FAIL: ' + (e.stack || e.message));
  for (const [name, page] of pages) {
    try {
      await page.screenshot({path: join(outDir, `failure-${name}.png`)});
      console.error(`(the ${name} page: ${join(outDir, `failure-${name}.png`)}, at ${page.url()})`);
    } catch { /* closed */ }
  }
  if (problems.length) console.error(problems.join('\n'));
  await browser.close();
  process.exit(1);
}
