/** Elligator2 — filled in by its owner. */
export {};
