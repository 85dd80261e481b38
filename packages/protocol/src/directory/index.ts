/** @skymesh/protocol/directory — filled in by its owner. */
export {};
