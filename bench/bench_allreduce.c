/* The cost of one training step's communication: MPI_Allreduce (sum, in
 * place) of `floats` floats, as clv train --mpi does after every batch,
 * timed over many calls on however many ranks mpirun starts. Rank 0 prints
 * the median and mean microseconds per call (docs/scale-out.md).
 *   mpirun -np 2 build/bench/bench_allreduce [FLOATS [CALLS]]   (5925 = hidden 32) */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const int n = argc > 1 ? atoi(argv[1]) : 5925, calls = argc > 2 ? atoi(argv[2]) : 2000;
    float *buf = calloc((size_t)(n > 0 ? n : 1), sizeof *buf);
    double *t = calloc((size_t)calls, sizeof *t);
    if (!buf || !t || n <= 0 || calls <= 0) MPI_Abort(MPI_COMM_WORLD, 2);
    for (int k = 0; k < 50; k++) MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);   /* warm-up */
    double sum = 0;
    for (int k = 0; k < calls; k++) {
        for (int i = 0; i < n; i++) buf[i] = (float)(i % 7);
        double t0 = MPI_Wtime();
        MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        t[k] = MPI_Wtime() - t0;
        sum += t[k];
    }
    qsort(t, (size_t)calls, sizeof *t, cmp_double);
    if (rank == 0)
        printf("allreduce ranks %d floats %d bytes %d calls %d median_us %.1f mean_us %.1f\n", size, n, n * 4, calls,
               t[calls / 2] * 1e6, sum / calls * 1e6);
    free(buf);
    free(t);
    MPI_Finalize();
    return 0;
}
