// UUID v7 for ids proposed by the client (the server keeps a proposed UUID), from the platform's
// crypto.getRandomValues: present in browsers and in Node 20+.

let lastMs = 0;
let counter = 0;

/** A UUID v7: 48 bits of Unix milliseconds, then random bits; monotonic within one millisecond. */
export function uuidv7() {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  let ms = Date.now();
  if (ms <= lastMs) {
    // Same millisecond (or a clock step back): keep order with a 12-bit counter in rand_a.
    ms = lastMs;
    counter += 1;
    if (counter > 0xfff) {
      lastMs += 1;
      ms = lastMs;
      counter = 0;
    }
  } else {
    lastMs = ms;
    counter = bytes[6] & 0x07; // start low so the counter has room to grow
  }
  for (let i = 5; i >= 0; i -= 1) {
    bytes[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  bytes[6] = 0x70 | ((counter >> 8) & 0x0f);
  bytes[7] = counter & 0xff;
  bytes[8] = 0x80 | (bytes[8] & 0x3f);
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
