/**
 * Short-message AEAD, BLAKE2b and HMAC-BLAKE2b straight on libsodium's WASM
 * module. libsodium-wrappers mallocs and frees every argument, checks each
 * one and throws on a bad tag; for inputs of a few hundred bytes that
 * bookkeeping costs as much as the primitive, and node:crypto's per-call
 * setup (createCipheriv, createHmac) costs more still. Here one scratch area
 * is allocated once, inputs are copied into it, the C function is called
 * directly and the result copied out; a bad tag is a return code, not an
 * exception. The used part of the scratch area is zeroed after every call so
 * no key or plaintext stays in WASM memory.
 *
 * The raw module is the `libsodium` property libsodium-wrappers exposes once
 * ready; if it is missing (another build), `sodiumRaw()` returns null and the
 * caller keeps using the wrappers and OpenSSL. Every function returns null
 * when its input does not fit the scratch area; the caller then uses OpenSSL.
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
  _crypto_generichash: RawGenericHash;
}

// 64-bit lengths are passed as two 32-bit words (low, high).
// (c, clen_p, m, mlen lo, hi, ad, adlen lo, hi, nsec, npub, k) → 0
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
// (m, mlen_p, nsec, c, clen lo, hi, ad, adlen lo, hi, npub, k) → 0, or -1 on a bad tag
type RawOpen = RawSeal;
// (out, outlen, in, inlen lo, hi, key, keylen) → 0
type RawGenericHash = (
  out: number,
  outLen: number,
  input: number,
  inLenLo: number,
  inLenHi: number,
  key: number,
  keyLen: number,
) => number;

/** Bytes of WASM memory reserved once for the scratch area. */
export const SODIUM_SCRATCH_BYTES = 16384;

const TAG = 16;
/** BLAKE2b's block size, HMAC's pad length for it (RFC 2104). */
const B2_BLOCK = 128;
const B2_OUT = 64;

/** The primitives over the scratch area; null means "does not fit, use another path". */
export interface SodiumRaw {
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
  /** BLAKE2b, outLen 1..64, optional key of at most 64 bytes. */
  blake2b(data: Uint8Array, outLen: number, key: Uint8Array | undefined): Uint8Array | null;
  /** HMAC-BLAKE2b-512 (RFC 2104 over BLAKE2b-512, as Noise's HMAC-HASH). */
  hmacBlake2b(key: Uint8Array, data: Uint8Array): Uint8Array | null;
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
    typeof lib._crypto_aead_xchacha20poly1305_ietf_decrypt !== 'function' ||
    typeof lib._crypto_generichash !== 'function'
  ) {
    return null;
  }
  return lib as SodiumModule;
}

/**
 * The raw primitives, once libsodium is ready (call after `sodium.ready`
 * resolved). Null when the module does not expose what is needed.
 */
export function sodiumRaw(): SodiumRaw | null {
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

  /** Copies `bytes` to `at` and returns the offset just after them. */
  function put(heap: Uint8Array, at: number, bytes: Uint8Array | undefined): number {
    if (!bytes || bytes.length === 0) return at;
    heap.set(bytes, at);
    return at + bytes.length;
  }

  /** The result at [from, from + len), then zeroes everything used. */
  function take(heap: Uint8Array, from: number, len: number, used: number): Uint8Array {
    const out = heap.slice(from, from + len);
    heap.fill(0, base, used);
    return out;
  }

  // AEAD layout: key 32 | nonce ≤ 24 | AD | input | output.
  function aead(
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
    if (56 + adLen + inLen + outLen > SODIUM_SCRATCH_BYTES) return null;
    const heap = lib.HEAPU8;
    const k = base;
    const n = base + 32;
    const a = base + 56;
    heap.set(key, k);
    heap.set(nonce, n);
    const i = put(heap, a, ad);
    const o = put(heap, i, input);
    const x = xchacha ? 1 : 0;
    const rc = open
      ? dec[x](o, 0, 0, i, inLen, 0, a, adLen, 0, n, k)
      : enc[x](o, 0, i, inLen, 0, a, adLen, 0, 0, n, k);
    if (rc !== 0) {
      heap.fill(0, base, o + outLen);
      return false;
    }
    return take(heap, o, outLen, o + outLen);
  }

  // Layout: out 64 | key ≤ 64 | data.
  function blake2b(
    data: Uint8Array,
    outLen: number,
    key: Uint8Array | undefined,
  ): Uint8Array | null {
    const keyLen = key ? key.length : 0;
    if (B2_OUT + keyLen + data.length > SODIUM_SCRATCH_BYTES) return null;
    const heap = lib.HEAPU8;
    const k = base + B2_OUT;
    const d = put(heap, k, key);
    const used = put(heap, d, data);
    lib._crypto_generichash(base, outLen, d, data.length, 0, keyLen ? k : 0, keyLen);
    return take(heap, base, outLen, used);
  }

  return {
    seal: (xchacha, key, nonce, pt, ad) => aead(false, xchacha, key, nonce, pt, ad) || null,
    open: (xchacha, key, nonce, sealed, ad) => aead(true, xchacha, key, nonce, sealed, ad),

    blake2b,

    // Layout: out 64 | (key ⊕ ipad) ‖ data | inner hash 64. The outer block
    // (key ⊕ opad) is then written just before the inner hash, over bytes
    // already consumed, so the outer input is contiguous too.
    hmacBlake2b(key, data) {
      const heap = lib.HEAPU8;
      let k = key;
      if (k.length > B2_BLOCK) {
        const hashed = blake2b(k, B2_OUT, undefined);
        if (!hashed) return null;
        k = hashed;
      }
      if (B2_OUT + B2_BLOCK + data.length + B2_OUT > SODIUM_SCRATCH_BYTES) return null;
      const ipad = base + B2_OUT;
      const inner = ipad + B2_BLOCK + data.length;
      heap.fill(0x36, ipad, ipad + B2_BLOCK);
      for (let i = 0; i < k.length; i++) heap[ipad + i] = k[i]! ^ 0x36;
      put(heap, ipad + B2_BLOCK, data);
      lib._crypto_generichash(inner, B2_OUT, ipad, B2_BLOCK + data.length, 0, 0, 0);
      const opad = inner - B2_BLOCK;
      heap.fill(0x5c, opad, inner);
      for (let i = 0; i < k.length; i++) heap[opad + i] = k[i]! ^ 0x5c;
      lib._crypto_generichash(base, B2_OUT, opad, B2_BLOCK + B2_OUT, 0, 0, 0);
      if (k !== key) k.fill(0);
      return take(heap, base, B2_OUT, inner + B2_OUT);
    },
  };
}
