// Builds what runs in a browser, with esbuild:
//   dist/browser/switchyard-client.js  the client SDK (src/client/browser.ts) as one ES module,
//                                       with the framework's proto/ embedded as a JSON descriptor
//   dist/web/                           the web demo (web/): index.html, style.css, app.js; app.js
//                                       imports the SDK bundle above, it does not embed its own copy
// Run by `npm run build` and scripts/setup.sh after tsc.
import { copyFileSync, mkdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import protobuf from "protobufjs";
import { protoFiles } from "./gen-proto.mjs";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
export const BROWSER_BUNDLE = join(root, "dist", "browser", "switchyard-client.js");
export const WEB_DIR = join(root, "dist", "web");

function protoDescriptor() {
  const pb = new protobuf.Root();
  pb.loadSync(protoFiles([join(root, "proto")]), { keepCase: false });
  pb.resolveAll();
  return pb.toJSON();
}

async function buildSdk() {
  await build({
    entryPoints: [join(root, "src", "client", "browser.ts")],
    outfile: BROWSER_BUNDLE,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    legalComments: "none",
    // The light build reads JSON descriptors; the .proto parser is not needed in a browser.
    alias: { protobufjs: "protobufjs/light" },
    define: { SWITCHYARD_PROTO_DESCRIPTOR: JSON.stringify(protoDescriptor()) },
    logLevel: "warning",
  });
}

async function buildDemo() {
  mkdirSync(WEB_DIR, { recursive: true });
  await build({
    entryPoints: [join(root, "web", "src", "main.ts")],
    outfile: join(WEB_DIR, "app.js"),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    logLevel: "warning",
    plugins: [
      {
        name: "switchyard-sdk-bundle",
        setup(b) {
          b.onResolve({ filter: /^switchyard\/client\/browser$/ }, () => ({ path: `./switchyard-client.js`, external: true }));
        },
      },
    ],
  });
  for (const f of ["index.html", "style.css"]) copyFileSync(join(root, "web", f), join(WEB_DIR, f));
  copyFileSync(BROWSER_BUNDLE, join(WEB_DIR, "switchyard-client.js"));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildSdk();
  await buildDemo();
  console.error(`build-browser: ${BROWSER_BUNDLE} (${statSync(BROWSER_BUNDLE).size} bytes), ${WEB_DIR}/`);
}
