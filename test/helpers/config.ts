/** The testing kit's test config, for this repository's tests. */
export * from "../../src/testing/config.js";
