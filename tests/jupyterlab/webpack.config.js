// Bundles JupyterLab 3.6's front end (index.js and the extensions listed in package.json) into
// build/, with the extensions' schemas, themes and styles that jupyterlab_server serves beside it.
const path = require("path");
const webpack = require("webpack");
const { Build } = require("@jupyterlab/builder");
const pkg = require("./package.json");

const out = path.join(__dirname, "build");
const packageNames = [
  ...pkg.jupyterlab.extensions,
  ...pkg.jupyterlab.mimeExtensions,
];

module.exports = [
  {
    entry: "./index.js",
    output: { path: out, filename: "bundle.js" },
    mode: "development",
    devtool: false,
    bail: true,
    module: {
      rules: [
        { test: /\.css$/, use: ["style-loader", "css-loader"] },
        // Icons: raw SVG text where code imports them, data URIs inside stylesheets.
        { test: /\.svg$/, issuer: /\.css$/, type: "asset/inline" },
        { test: /\.svg$/, issuer: /\.[cm]?js$/, type: "asset/source" },
        { test: /\.md$/, type: "asset/source" },
        {
          test: /\.(png|jpe?g|gif|woff2?|ttf|eot|html)$/,
          type: "asset/resource",
        },
      ],
    },
    plugins: [
      // Some dependencies read process.env / process.cwd() (browser stand-ins).
      new webpack.DefinePlugin({
        "process.env": "{}",
        process: { cwd: () => "/" },
      }),
    ],
  },
  // Copies each extension's settings schemas and themes into build/ and writes build/style.js.
  ...Build.ensureAssets({ packageNames, output: out, hashFunction: "sha256" }),
];
