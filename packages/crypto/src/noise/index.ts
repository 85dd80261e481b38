/** Noise handshakes — filled in by its owner. */
export {};
