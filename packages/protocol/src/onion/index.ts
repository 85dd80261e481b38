/** @skymesh/protocol/onion — filled in by its owner. */
export {};
