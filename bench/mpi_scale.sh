#!/usr/bin/env bash
# 1 process against 2 MPI ranks for clv train on a simulated log, and the
# allreduce cost of one step (docs/scale-out.md). Reports, never asserts.
#   bench/mpi_scale.sh [CUSTOMERS (20000)] [EPOCHS (3)] [BUILD_DIR (build)]
set -euo pipefail
n=${1:-20000} epochs=${2:-3} build=${3:-build}
clv=$build/examples/clv
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,tcp OMPI_MCA_mpi_yield_when_idle=1
"$clv" simulate --customers "$n" --seed 7 --out "$work/log.csv" --quiet
args=(train --data "$work/log.csv" --cutoff 1997-12-31 --horizon 90 --ensemble 1 --epochs "$epochs" --quiet)
t() { local s e; s=$(date +%s%N); "$@"; e=$(date +%s%N); printf '%d.%03d' $(((e - s) / 1000000000)) $(((e - s) / 1000000 % 1000)); }
echo "customers $n, epochs $epochs, hidden 32, batch 128, ensemble 1"
echo "1 process : $(t "$clv" "${args[@]}" --out "$work/one.clv") s"
echo "2 ranks   : $(t mpirun -np 2 --oversubscribe "$clv" "${args[@]}" --mpi --out "$work/two.clv") s"
echo "1 rank MPI: $(t mpirun -np 1 "$clv" "${args[@]}" --mpi --out "$work/mpi1.clv") s"
if [ -x "$build/bench/bench_allreduce" ]; then
    mpirun -np 2 --oversubscribe "$build/bench/bench_allreduce" 5925 2000
    mpirun -np 2 --oversubscribe "$build/bench/bench_allreduce" 1 2000
fi
