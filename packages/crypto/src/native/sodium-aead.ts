/**
 * Short-message AEAD straight on libsodium's WASM module. libsodium-wrappers
 * mallocs and frees every argument (key, nonce, AD, message, output), checks
 * each one and throws on a bad tag; for messages of a few hundred bytes that
 * bookkeeping costs as much as the cipher. Here one scratch area is
 * allocated once, inputs are copied into it, the C function is called
 * directly and the result copied out; a bad tag is a return code, not an
 * exception. The scratch area is zeroed after every call so no key or
 * plaintext stays in WASM memory.
 *
 * The raw module is the `libsodium` property libsodium-wrappers exposes once
 * ready; if it is missing (another build), `sodiumAead()` returns null and the
 * caller keeps using the wrappers.
 */
import sodium from 'libsodium-wrappers';

/** The part of libsodium's Emscripten module used here (C ABI names). */
interface SodiumModule {
  /** Re-read on every call: growing WASM memory replaces the view. */
  readonly HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _crypto_aead_chacha20poly1305_ietf_encrypt: RawSeal;
  _crypto_aead_chacha20poly1305_ietf_decrypt: RawOpen;
  _crypto_aead_xchacha20poly1305_ietf_encrypt: RawSeal;
  _crypto_aead_xchacha20poly1305_ietf_decrypt: RawOpen;
}

// (c, clen_p, m, mlen (64-bit as two words), ad, adlen (two words), nsec, npub, k) → 0
type RawSeal = (
  c: number,
  clenP: number,
  m: number,
  mlenLo: number,
  mlenHi: number,
  ad: number,
  adlenLo: number,
  adlenHi: number,
  nsec: number,
  npub: number,
  k: number,
) => number;
// (m, mlen_p, nsec, c, clen (two words), ad, adlen (two words), npub, k) → 0, or -1 on a bad tag
type RawOpen = (
  m: number,
  mlenP: number,
  nsec: number,
  c: number,
  clenLo: number,
  clenHi: number,
  ad: number,
  adlenLo: number,
  adlenHi: number,
  npub: number,
  k: number,
) => number;

/** Bytes of WASM memory reserved once for the scratch area. */
export const SODIUM_SCRATCH_BYTES = 16384;

const KEY = 0;
const NONCE = 32;
const DATA = 56; // nonce is at most 24 bytes
const TAG = 16;

/** Seal and open over the scratch area; null means "does not fit, use another path". */
export interface SodiumAead {
  seal(
    xchacha: boolean,
    key: Uint8Array,
    nonce: Uint8Array,
    pt: Uint8Array,
    ad: Uint8Array | undefined,
  ): Uint8Array | null;
  /** Plaintext, `false` for a bad tag, or null when the input does not fit. */
  open(
    xchacha: boolean,
    key: Uint8Array,
    nonce: Uint8Array,
    sealed: Uint8Array,
    ad: Uint8Array | undefined,
  ): Uint8Array | false | null;
}

function rawModule(): SodiumModule | null {
  const lib = (sodium as unknown as { libsodium?: Partial<SodiumModule> }).libsodium;
  if (
    !lib ||
    !(lib.HEAPU8 instanceof Uint8Array) ||
    typeof lib._malloc !== 'function' ||
    typeof lib._crypto_aead_chacha20poly1305_ietf_encrypt !== 'function' ||
    typeof lib._crypto_aead_chacha20poly1305_ietf_decrypt !== 'function' ||
    typeof lib._crypto_aead_xchacha20poly1305_ietf_encrypt !== 'function' ||
    typeof lib._crypto_aead_xchacha20poly1305_ietf_decrypt !== 'function'
  ) {
    return null;
  }
  return lib as SodiumModule;
}

/**
 * The raw AEAD, once libsodium is ready (call after `sodium.ready`
 * resolved). Null when the module does not expose what is needed.
 */
export function sodiumAead(): SodiumAead | null {
  const found = rawModule();
  if (!found) return null;
  const lib: SodiumModule = found;
  const base = lib._malloc(SODIUM_SCRATCH_BYTES);
  if (base === 0) return null;
  lib.HEAPU8.fill(0, base, base + SODIUM_SCRATCH_BYTES);

  const enc = [
    lib._crypto_aead_chacha20poly1305_ietf_encrypt,
    lib._crypto_aead_xchacha20poly1305_ietf_encrypt,
  ] as const;
  const dec = [
    lib._crypto_aead_chacha20poly1305_ietf_decrypt,
    lib._crypto_aead_xchacha20poly1305_ietf_decrypt,
  ] as const;

  // Layout: key | nonce | AD | input | output. Returns the output, false for
  // a bad tag, null when it does not fit.
  function run(
    open: boolean,
    xchacha: boolean,
    key: Uint8Array,
    nonce: Uint8Array,
    input: Uint8Array,
    ad: Uint8Array | undefined,
  ): Uint8Array | false | null {
    const adLen = ad ? ad.length : 0;
    const inLen = input.length;
    const outLen = open ? inLen - TAG : inLen + TAG;
    if (outLen < 0) return false;
    if (DATA + adLen + inLen + outLen > SODIUM_SCRATCH_BYTES) return null;
    const heap = lib.HEAPU8;
    const k = base + KEY;
    const n = base + NONCE;
    const a = base + DATA;
    const i = a + adLen;
    const o = i + inLen;
    heap.set(key, k);
    heap.set(nonce, n);
    if (ad && adLen > 0) heap.set(ad, a);
    heap.set(input, i);
    const x = xchacha ? 1 : 0;
    const rc = open
      ? dec[x](o, 0, 0, i, inLen, 0, a, adLen, 0, n, k)
      : enc[x](o, 0, i, inLen, 0, a, adLen, 0, 0, n, k);
    const out = rc === 0 ? heap.slice(o, o + outLen) : false;
    heap.fill(0, base, o + outLen);
    return out;
  }

  return {
    seal: (xchacha, key, nonce, pt, ad) => run(false, xchacha, key, nonce, pt, ad) || null,
    open: (xchacha, key, nonce, sealed, ad) => run(true, xchacha, key, nonce, sealed, ad),
  };
}
