/** @skymesh/protocol/link — filled in by its owner. */
export {};
