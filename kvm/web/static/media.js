// Virtual media: the image store (/images/: list, upload) and the
// manager's VirtualMedia slots (Redfish InsertMedia, EjectMedia), with an
// optional one-time boot override onto the slot's device.
import {$, el, getJSON, redfish} from './common.js';

// The boot override target of a slot, by its media types.
function bootTarget(slot) {
  const types = slot.MediaTypes || [];
  if (types.includes('CD') || types.includes('DVD')) return 'Cd';
  if (types.includes('USBStick')) return 'Usb';
  if (types.includes('Floppy')) return 'Floppy';
  return null;
}

// A file's name as the store takes it: ASCII letters, digits, . _ - +,
// not starting with a dot.
export function storeName(name) {
  const n = name.replace(/[^A-Za-z0-9._+-]/g, '_').replace(/^\.+/, '');
  return n.slice(0, 255) || 'image';
}

export class Media {
  constructor(systemPath, {canUse, status}) {
    this.systemPath = systemPath;
    this.canUse = canUse;
    this.status = status;
    this.slots = [];
    $('insert').addEventListener('click', () => this.insert());
    $('upload-file').addEventListener('change', (e) => {
      const f = e.target.files[0];
      if (f) this.upload(f);
    });
  }

  async refresh() {
    const sys = await redfish(this.systemPath);
    const mgr = sys.Links?.ManagedBy?.[0]?.['@odata.id'];
    if (mgr) {
      const m = await redfish(mgr);
      const coll = m.VirtualMedia?.['@odata.id'];
      if (coll) {
        const c = await redfish(coll);
        this.slots = await Promise.all((c.Members || []).map((x) => redfish(x['@odata.id'])));
      }
    }
    this.renderSlots();
    await this.refreshImages();
  }

  renderSlots() {
    const list = $('slots');
    list.replaceChildren();
    const sel = $('media-slot');
    const was = sel.value;
    sel.replaceChildren();
    for (const s of this.slots) {
      const image = s.Image || '';
      const eject = el('button', {class: 'need-media', 'data-slot': s.Id, disabled: !this.canUse() || !image,
        onclick: () => this.eject(s)}, 'Eject');
      list.append(el('div', {class: 'slot', 'data-slot': s.Id},
        el('b', {}, s.Id), ' ',
        el('span', {class: 'image'}, image ? `${image}${s.Inserted ? '' : ' (not inserted)'}` : 'empty'), ' ', eject));
      sel.append(el('option', {value: s.Id}, `${s.Id} (${(s.MediaTypes || []).join(', ')})`));
    }
    if (was) sel.value = was;
  }

  async refreshImages(select) {
    let doc;
    try {
      doc = await getJSON('/images/');
    } catch (e) {
      this.status(String(e.message || e));
      return;
    }
    const sel = $('media-image');
    const was = select || sel.value;
    sel.replaceChildren(el('option', {value: ''}, doc.images.length ? '(stored image)' : '(no stored image)'));
    for (const img of doc.images) {
      sel.append(el('option', {value: img.url, 'data-name': img.name},
        `${img.name} (${(img.size / 1048576).toFixed(1)} MiB, ${img.mediaType})`));
    }
    for (const o of sel.options) if (o.value === was || o.dataset.name === was) sel.value = o.value;
  }

  async upload(file) {
    const name = storeName(file.name);
    const bar = $('upload-progress');
    bar.hidden = false;
    bar.value = 0;
    this.status(`uploading ${name}…`);
    try {
      await new Promise((resolve, reject) => {
        const x = new XMLHttpRequest();
        x.open('PUT', '/images/' + name);
        x.setRequestHeader('Content-Type', 'application/octet-stream');
        x.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = e.loaded / e.total; };
        x.onload = () => {
          if (x.status === 200 || x.status === 201) resolve();
          else {
            let msg = `HTTP ${x.status}`;
            try { msg = JSON.parse(x.responseText).error || msg; } catch { /* not JSON */ }
            reject(new Error(msg));
          }
        };
        x.onerror = () => reject(new Error('upload failed'));
        x.send(file);
      });
      await this.refreshImages(name);
      this.status(`uploaded ${name}`);
    } catch (e) {
      this.status(`upload of ${name}: ${e.message}`);
    } finally {
      bar.hidden = true;
      $('upload-file').value = '';
    }
  }

  async insert() {
    const url = $('media-url').value.trim() || $('media-image').value;
    const slot = this.slots.find((s) => s.Id === $('media-slot').value);
    if (!url || !slot) {
      this.status('choose a stored image or give a URL, and a slot');
      return;
    }
    const target = slot.Actions?.['#VirtualMedia.InsertMedia']?.target;
    try {
      await redfish(target, {method: 'POST', body: {Image: url, Inserted: true}});
      let msg = `inserted into ${slot.Id}`;
      const boot = bootTarget(slot);
      if ($('media-boot').checked && boot) {
        await redfish(this.systemPath, {method: 'PATCH',
          body: {Boot: {BootSourceOverrideTarget: boot, BootSourceOverrideEnabled: 'Once'}}});
        msg += `; the next boot is from ${boot}`;
      }
      this.status(msg);
      $('media-url').value = '';
    } catch (e) {
      this.status(`insert: ${e.message}`);
    }
    await this.refresh();
  }

  async eject(slot) {
    try {
      await redfish(slot.Actions['#VirtualMedia.EjectMedia'].target, {method: 'POST', body: {}});
      this.status(`ejected ${slot.Id}`);
    } catch (e) {
      this.status(`eject: ${e.message}`);
    }
    await this.refresh();
  }
}
