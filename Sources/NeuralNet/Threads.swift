// oneDNN threads with OpenMP. OMP_NUM_THREADS is read by the runtime at start;
// `--threads` must call omp_set_num_threads before the first primitive runs.
import Records
import CDNNL

public enum Threads {
    /// The number of threads oneDNN kernels use.
    public static var count: Int { Int(omp_get_max_threads()) }

    /// Sets the number of threads for all following oneDNN work (n ≥ 1).
    public static func set(_ n: Int) {
        precondition(n >= 1, "thread count must be at least 1")
        omp_set_num_threads(Int32(n))
    }

    /// oneDNN's version, e.g. "2.6.3".
    public static var oneDNNVersion: String {
        guard let v = dnnl_version() else { return "unknown" }
        return "\(v.pointee.major).\(v.pointee.minor).\(v.pointee.patch)"
    }
}
