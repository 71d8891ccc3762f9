import { services } from "../../src/generated/proto.js";
import { defineModule } from "../../src/module/index.js";

/** A diagnostic module: round trips, controlled delays and "who am I" for tests and benchmarks. */
export default defineModule(services.echo, {
  version: "1.0.0",
  handlers: {
    Echo(ctx, req) {
      return { text: req.text, data: req.data, servedBy: ctx.module.instanceId, version: ctx.module.version };
    },
    async Sleep(ctx, req) {
      await new Promise((r) => setTimeout(r, Math.min(req.ms, 60_000)));
      return { text: `slept ${req.ms} ms`, servedBy: ctx.module.instanceId, version: ctx.module.version };
    },
    WhoAmI(ctx) {
      const s = ctx.session;
      return { uid: s?.uid ?? "", sid: s?.sid ?? 0, gatewayId: s?.gatewayId ?? "" };
    },
  },
});
