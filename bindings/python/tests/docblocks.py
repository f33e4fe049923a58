"""Run the Python blocks of docs/python.md and compare their output with the
```text block that follows each one, so the page cannot drift from the code.

Words must match exactly; numbers to 1% (or 0.01 absolute): OpenBLAS picks
its kernels by CPU, so the last digits of a trained model may differ from
one machine to another while the page stays true.
"""

import os
import re
import subprocess
import sys

DOC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "docs", "python.md")
_BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def blocks():
    """[(code, expected output or None)] for every ```python block, in page order."""
    with open(DOC) as f:
        found = [(m.group(1), m.group(2)) for m in _BLOCK.finditer(f.read())]
    out = []
    for i, (lang, body) in enumerate(found):
        if lang == "python":
            nxt = found[i + 1] if i + 1 < len(found) else None
            out.append((body, nxt[1] if nxt and nxt[0] == "text" else None))
    return out


def run(code, cwd):
    """Run a block as a program in `cwd` (the binding on PYTHONPATH); its stdout."""
    r = subprocess.run([sys.executable, "-c", code], cwd=str(cwd), capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, "doc block failed:\n%s\n%s" % (code, r.stderr)
    return r.stdout


def same_output(got, expected):
    """Assert equal up to numbers within 1% / 0.01."""
    g_lines, e_lines = got.rstrip("\n").split("\n"), expected.rstrip("\n").split("\n")
    assert len(g_lines) == len(e_lines), "output:\n%s\ndoc says:\n%s" % (got, expected)
    for g, e in zip(g_lines, e_lines):
        assert _NUMBER.sub("#", g).split() == _NUMBER.sub("#", e).split(), \
            "line differs:\n  got: %s\n  doc: %s" % (g, e)
        for a, b in zip(_NUMBER.findall(g), _NUMBER.findall(e)):
            x, y = float(a), float(b)
            assert abs(x - y) <= max(0.01, 0.01 * abs(y)), \
                "number %s differs from the doc's %s in:\n  got: %s\n  doc: %s" % (a, b, g, e)
