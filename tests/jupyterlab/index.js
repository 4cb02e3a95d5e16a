// JupyterLab 3.6's front end: the application and the extensions of package.json. It exposes the
// application as `window.jupyterapp` and sets `document.body.dataset.labReady` once the layout
// is restored, for tests/jupyterlab_test.ts.
import { JupyterLab } from "@jupyterlab/application";
import { PageConfig } from "@jupyterlab/coreutils";

// Chunks and assets load from the server's static URL (set before anything else is imported).
// eslint-disable-next-line no-undef
__webpack_public_path__ = PageConfig.getOption("fullStaticUrl") + "/";

const styles = import("./build/style.js");
// One import per entry of package.json's jupyterlab.extensions / mimeExtensions.
const extensions = [
  import("@jupyterlab/application-extension"),
  import("@jupyterlab/apputils-extension"),
  import("@jupyterlab/celltags-extension"),
  import("@jupyterlab/codemirror-extension"),
  import("@jupyterlab/completer-extension"),
  import("@jupyterlab/console-extension"),
  import("@jupyterlab/csvviewer-extension"),
  import("@jupyterlab/docmanager-extension"),
  import("@jupyterlab/filebrowser-extension"),
  import("@jupyterlab/fileeditor-extension"),
  import("@jupyterlab/help-extension"),
  import("@jupyterlab/imageviewer-extension"),
  import("@jupyterlab/inspector-extension"),
  import("@jupyterlab/launcher-extension"),
  import("@jupyterlab/mainmenu-extension"),
  import("@jupyterlab/markdownviewer-extension"),
  import("@jupyterlab/mathjax2-extension"),
  import("@jupyterlab/notebook-extension"),
  import("@jupyterlab/rendermime-extension"),
  import("@jupyterlab/running-extension"),
  import("@jupyterlab/settingeditor-extension"),
  import("@jupyterlab/shortcuts-extension"),
  import("@jupyterlab/statusbar-extension"),
  import("@jupyterlab/theme-dark-extension"),
  import("@jupyterlab/theme-light-extension"),
  import("@jupyterlab/toc-extension"),
  import("@jupyterlab/tooltip-extension"),
  import("@jupyterlab/translation-extension"),
  import("@jupyterlab/ui-components-extension"),
];
const mimeExtensions = [
  import("@jupyterlab/json-extension"),
  import("@jupyterlab/pdf-extension"),
];

window.addEventListener("load", async () => {
  await styles;
  const app = new JupyterLab({
    mimeExtensions: await Promise.all(mimeExtensions),
  });
  app.registerPluginModules(await Promise.all(extensions));
  window.jupyterapp = app;
  await app.start();
  await app.restored;
  document.body.dataset.labReady = "true";
});
