/** @skymesh/protocol/stream — filled in by its owner. */
export {};
