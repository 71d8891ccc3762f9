// Preloaded (NODE_OPTIONS=--require) into a cluster's Node processes by
// gateway-rollout-failed.test.ts: a replacement gateway (started with --take-ports-from) exits
// as soon as a listener of it is bound, as one that crashes right after taking the ports would.
// Every other process runs unchanged.
"use strict";
const net = require("node:net");

if (process.argv.includes("--take-ports-from")) {
  const listen = net.Server.prototype.listen;
  net.Server.prototype.listen = function (...args) {
    this.once("listening", () => {
      process.stderr.write("failing-replacement.cjs: this replacement gateway exits after binding its port\n");
      process.exit(3);
    });
    return listen.apply(this, args);
  };
}
