#!/bin/sh
# Run one group of the binding's pytest tests under Debian's python3, as
# meson's suite 'python' does:
#   run.sh PYTHON GROUP [pytest args...]
# GROUP: core (every test but the two below), dask, install.
# Exits 77 (skipped) with a one-line reason when PYTHON lacks a module the
# group needs. CLV_LIBRARY (the built libclv) and CLV_TOOL (the built clv
# tool, optional) come from the environment.
py=$1 group=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
need() {
    if ! "$py" -c "import $1" >/dev/null 2>&1; then
        echo "$py has no $1 module (Debian: apt-get install $2): skipped"
        exit 77
    fi
}
need pytest python3-pytest
need numpy python3-numpy
need pandas python3-pandas
case $group in
    core) files="--ignore=$here/test_dask.py --ignore=$here/test_install.py $here" ;;
    dask) need distributed python3-distributed; files=$here/test_dask.py ;;
    install) need venv python3-venv; need pip python3-pip; files=$here/test_install.py ;;
    *) echo "unknown group $group" >&2; exit 2 ;;
esac
# One BLAS thread: the machine is shared with other tests, and results must
# not depend on it anyway.
export OPENBLAS_NUM_THREADS=1
export PYTHONPATH="$here/..${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1
# -p no:cacheprovider: never write .pytest_cache into the source tree.
exec "$py" -m pytest -q -p no:cacheprovider $files "$@"
