// oneDNN threads with OpenMP. OMP_NUM_THREADS is read by the runtime at start;
// `--threads` must call omp_set_num_threads before the first primitive runs.
import Dispatch
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

    /// Calls `body` on contiguous parts of 0..<total that cover it exactly once: up to one part per
    /// oneDNN thread (`count`), run in parallel, each of at least `minimumPart` indices; else one part.
    /// For elementwise loops in Swift (optimizer steps) between oneDNN primitives.
    public static func forEachPart(of total: Int, minimumPart: Int = 1 << 16, _ body: (Range<Int>) -> Void) {
        let parts = min(count, total / max(minimumPart, 1))
        guard parts > 1 else {
            if total > 0 { body(0..<total) }
            return
        }
        DispatchQueue.concurrentPerform(iterations: parts) { k in
            body(total * k / parts ..< total * (k + 1) / parts)
        }
    }

    /// oneDNN's version, e.g. "2.6.3".
    public static var oneDNNVersion: String {
        guard let v = dnnl_version() else { return "unknown" }
        return "\(v.pointee.major).\(v.pointee.minor).\(v.pointee.patch)"
    }
}
