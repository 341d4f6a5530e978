// oneDNN 2.x C API (Debian libdnnl-dev). OpenMP's thread controls are declared
// here because setting OMP_NUM_THREADS from inside the process is too late.
#include <oneapi/dnnl/dnnl.h>

int omp_get_max_threads(void);
void omp_set_num_threads(int num_threads);
