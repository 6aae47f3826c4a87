// badge: a PNG image drawn by the action. GET .../webservice/badge?color=ff8800&w=64&h=64
//
// A web action returns binary data as base64 in `body` with a binary
// Content-Type; the gateway decodes it, so the client receives real PNG bytes.
const zlib = require('zlib');

function main(params) {
  const color = /^[0-9a-fA-F]{6}$/.test(params.color || '') ? params.color : '1565c0';
  const w = clamp(parseInt(params.w, 10) || 64, 1, 512);
  const h = clamp(parseInt(params.h, 10) || 64, 1, 512);
  const [r, g, b] = [0, 2, 4].map((i) => parseInt(color.slice(i, i + 2), 16));

  // one filter byte (0: none) per row, then RGB pixels; a darker border
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    const row = y * (w * 3 + 1);
    for (let x = 0; x < w; x++) {
      const edge = x === 0 || y === 0 || x === w - 1 || y === h - 1;
      const k = edge ? 0.6 : 1;
      raw[row + 1 + x * 3] = r * k;
      raw[row + 2 + x * 3] = g * k;
      raw[row + 3 + x * 3] = b * k;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // color type: RGB
  const png = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
  return {
    headers: { 'Content-Type': 'image/png', 'Cache-Control': 'public, max-age=60' },
    body: png.toString('base64'),
  };
}

function clamp(v, lo, hi) {
  return Math.min(hi, Math.max(lo, v));
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

let table;
function crc32(buf) {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (const byte of buf) c = table[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
