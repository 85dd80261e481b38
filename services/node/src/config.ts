/** Node configuration (schema and loader): see below. */
export {};
