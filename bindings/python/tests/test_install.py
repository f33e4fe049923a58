"""`pip install ./bindings/python` into a fresh venv works offline, and the
installed package is the one imported (the recipe of docs/python.md)."""

import os
import shutil
import subprocess
import sys

PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_pip_install_into_a_venv(tmp_path):
    # A copy: an in-tree build would write build/ and clv.egg-info into the sources.
    src = tmp_path / "src"
    shutil.copytree(PKG, src, ignore=shutil.ignore_patterns("tests", "build", "*.egg-info",
                                                            "__pycache__"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip",
                    str(venv)], check=True)
    py = str(venv / "bin" / "python")
    r = subprocess.run([py, "-m", "pip", "install", "--no-build-isolation", "--no-index",
                        "--no-deps", "--quiet", str(src)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    code = ("import clv, numpy as np\n"
            "log = clv.simulate(customers=50, seed=2)\n"
            "f = clv.Forecaster(hidden_size=4, epochs=1, ensemble=1, samples=4).fit(log, '1997-09-30')\n"
            "p = f.predict(log)\n"
            "print(clv.__file__)\n"
            "print(len(p), bool(np.isfinite(p.spend).all()))\n")
    r = subprocess.run([py, "-c", code], capture_output=True, text=True, env=env, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    where, result = r.stdout.splitlines()
    assert where.startswith(str(venv)), where       # the installed copy, not the source tree
    assert result == "50 True"
