/**
 * `deno task jupyter`: registers the Deno kernel (`deno jupyter --install`) and starts Jupyter
 * in notebooks/ when it is installed; otherwise says how to install it.
 */
const root = new URL("../../", import.meta.url).pathname;
const deno = Deno.execPath();
const install = await new Deno.Command(deno, {
  args: ["jupyter", "--install"],
  stdout: "inherit",
  stderr: "inherit",
}).output();
if (!install.success) Deno.exit(install.code);

async function has(cmd: string, sub: string): Promise<boolean> {
  try {
    return (await new Deno.Command(cmd, {
      args: [sub, "--version"],
      stdout: "null",
      stderr: "null",
    }).output()).success;
  } catch {
    return false;
  }
}
for (const sub of ["lab", "notebook"]) {
  if (await has("jupyter", sub)) {
    console.log(`starting jupyter ${sub} in ${root}notebooks (kernel: Deno)`);
    const p = new Deno.Command("jupyter", {
      args: [sub],
      cwd: `${root}notebooks`,
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    Deno.exit((await p.status).code);
  }
}
console.log(`The Deno kernel is registered, but no Jupyter front end was found. Install one of:
  Debian/Ubuntu: sudo apt-get install jupyter-notebook   (or: pip install jupyterlab)
then run this task again, or open notebooks/*.ipynb in VS Code with the Deno kernel.
Headless runs (as the tests do): jupyter nbconvert --to notebook --execute notebooks/01_*.ipynb`);
