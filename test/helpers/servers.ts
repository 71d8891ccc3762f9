/** The testing kit's server launcher, for this repository's tests. */
export * from "../../src/testing/servers.js";
