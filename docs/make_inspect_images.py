"""Run the examples of docs/inspect.md and refresh what the page shows of them: the printed
output under each example, and the pictures in docs/images/.

Each ```python block of the page runs on its own (fresh globals, as tests/test_docs.py runs
it), compiled as ``train.py`` in a scratch folder, so that messages naming the user's line
read as they would for a script of that name. What it prints replaces the ```text block that
follows it. The PNG files it writes are copied to docs/images/; an HTML page it writes
(``inspect.graph``) is opened in headless Chromium (/usr/bin/chromium) in the state SHOTS
names, and the screenshot saved as docs/images/<name>.png.

    python docs/make_inspect_images.py            # all examples
    python docs/make_inspect_images.py graph      # only those whose code mentions 'graph'
"""

import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import traceback
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGE = os.path.join(ROOT, "docs", "inspect.md")
IMAGES = os.path.join(ROOT, "docs", "images")
BLOCK = re.compile(r"```python\n(.*?)```(\n+```text\n(.*?)```)?", re.S)

# page written by an example -> (picture, node to open (grad_fn name, module), modules to collapse, window)
SHOTS = {
    "graph.html": ("inspect_graph.png", ("SigmoidBackward0", "2.1"), ["0", "1"], (1280, 1000)),
}


def _chromium(url, png, size):
    exe = shutil.which("chromium")
    if exe is None:
        print(f"  skipped {png}: no chromium (apt-get install chromium)")
        return
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        "--hide-scrollbars", f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}",
                        f"--screenshot={png}", url], check=True, capture_output=True, timeout=120)
    print(f"  wrote {os.path.relpath(png, ROOT)} (Chromium)")


def _shoot(path, namespace):
    from retrograd.inspect import Graph

    png, (name, module), collapse, size = SHOTS[os.path.basename(path)]
    graph = next(v for v in namespace.values() if isinstance(v, Graph) and os.path.basename(v.path) == os.path.basename(path))
    node = next(n.id for n in graph.nodes if n.name == name and n.module == module)
    state = urllib.parse.urlencode({"collapse": ",".join(collapse), "open": node}, safe=",")
    _chromium(f"file://{path}#{state}", os.path.join(IMAGES, png), size)


def run_block(code, folder):
    """Run one example in ``folder``; return what it printed and its namespace."""
    namespace = {"__name__": "__main__"}
    out = io.StringIO()
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, "train.py", "exec"), namespace)
    except Exception:
        traceback.print_exc()
        raise SystemExit(f"an example of {os.path.relpath(PAGE, ROOT)} failed:\n{code}")
    finally:
        os.chdir(cwd)
    return out.getvalue(), namespace


def main(argv):
    sys.path.insert(0, os.path.join(ROOT, "src"))
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    text = open(PAGE, encoding="utf-8").read()
    pieces, last = [], 0
    for m in BLOCK.finditer(text):
        code = m.group(1)
        pieces.append(text[last:m.start()])
        last = m.end()
        if argv and not any(word in code for word in argv):
            pieces.append(m.group(0))
            continue
        print(f"example: {code.strip().splitlines()[0][:70]}")
        with tempfile.TemporaryDirectory() as folder:
            printed, namespace = run_block(code, folder)
            for name in sorted(os.listdir(folder)):
                path = os.path.join(folder, name)
                if name.endswith(".png"):
                    shutil.copyfile(path, os.path.join(IMAGES, name))
                    print(f"  wrote docs/images/{name}")
                elif name in SHOTS:
                    _shoot(path, namespace)
        printed = "\n".join(line.rstrip() for line in printed.replace(folder, ".").rstrip().splitlines())
        block = f"```python\n{code}```"
        if m.group(2) is not None:
            block += f"\n\n```text\n{printed}\n```" if printed else ""
        pieces.append(block)
    pieces.append(text[last:])
    with open(PAGE, "w", encoding="utf-8") as f:
        f.write("".join(pieces))
    print(f"updated {os.path.relpath(PAGE, ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1:])
