// The web demo's server: static files of dist/web and the page's /config.json.
export { demoClientConfig, demoDir, startDemoServer, type DemoClientConfig, type DemoServer, type DemoServerOptions } from "./demo-server.js";
