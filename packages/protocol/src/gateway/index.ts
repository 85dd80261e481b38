/** @skymesh/protocol/gateway — filled in by its owner. */
export {};
