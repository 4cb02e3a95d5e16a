"""Serves the JupyterLab 3.6 front end built in build/ (npm ci && npx webpack) with Debian's
jupyterlab_server over jupyter_server 1.x, for tests/jupyterlab_test.ts.

  python3 serve.py --ServerApp.port=PORT --ServerApp.token=TOKEN --ServerApp.root_dir=DIR

Settings and workspaces go to LAB_USER_DIR (default build/user), never to ~/.jupyter."""
import json
import os

from jupyterlab_server import LabServerApp

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(HERE, "build")
USER = os.environ.get("LAB_USER_DIR", os.path.join(BUILD, "user"))
os.environ["JUPYTER_NO_CONFIG"] = "1"  # no config file on this machine changes the app

with open(os.path.join(HERE, "package.json")) as f:
    VERSION = json.load(f)["version"]


class LabFrontEnd(LabServerApp):
    name = __name__
    extension_url = "/lab"
    default_url = "/lab"
    load_other_extensions = False
    app_name = "JupyterLab"
    app_version = VERSION
    static_dir = BUILD
    schemas_dir = os.path.join(BUILD, "schemas")
    themes_dir = os.path.join(BUILD, "themes")
    app_settings_dir = os.path.join(BUILD, "application_settings")
    templates_dir = os.path.join(HERE, "templates")
    user_settings_dir = os.path.join(USER, "settings")
    workspaces_dir = os.path.join(USER, "workspaces")


def _jupyter_server_extension_points():
    return [{"module": __name__, "app": LabFrontEnd}]


if __name__ == "__main__":
    LabFrontEnd.launch_instance()
