// modules/greeter/index.ts
import { defineModule, SwitchyardError, z } from "switchyard";
import { services } from "../../generated/proto.js";
export default defineModule(services.greeter, {
  version: "1.0.0",
  settings: z.object({ greeting: z.string().default("Hello") }),   // validated once at start; ctx.settings / rt.settings typed
  onStart(rt) { return { greeted: 0 }; },                           // the returned object is the instance state: ctx.state
  handlers: {
    Greet(ctx, req) {
      const uid = ctx.requireUid();
      if (!req.name) throw new SwitchyardError("BAD_REQUEST", "name is required");
      ctx.state.greeted++;
      const text = `${ctx.settings.greeting}, ${req.name} (from ${uid})`;
      ctx.push(ctx.session!, "greeter.Greeted", { text, count: ctx.state.greeted }); // route checked against the message type
      return { text, count: ctx.state.greeted };
    },
  },
});
