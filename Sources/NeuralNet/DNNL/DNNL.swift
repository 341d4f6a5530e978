// The process-wide oneDNN (2.x C API) state every layer shares: one CPU engine
// and stream, the list of implementations created so far, and the thread count
// memory-bound primitives run with.
//
// Neighbours: DNNL+Status.swift (status checks), DataType.swift and
// DNNL+MemoryDescriptor.swift (element types and layouts), DNNLMemory.swift
// (buffers), Primitive.swift (primitive descriptors, primitives, executions),
// Reorder.swift (layout conversions).
//
// Layers create their primitives once per input layout (which includes the
// batch size) and keep them; activations stay in whatever (blocked) layout
// oneDNN chose, and are reordered only where a caller needs plain NCHW.

import CDNNL

/// Process-wide oneDNN state: the CPU engine and the stream all work runs on.
public enum DNNL {
    nonisolated(unsafe) static let engine: OpaquePointer = {
        var e: OpaquePointer?
        check(dnnl_engine_create(&e, dnnl_cpu, 0), "engine_create")
        return e!
    }()

    nonisolated(unsafe) static let stream: OpaquePointer = {
        var s: OpaquePointer?
        check(dnnl_stream_create(&s, engine, dnnl_stream_default_flags.rawValue), "stream_create")
        return s!
    }()

    nonisolated(unsafe) private static var createdImplementations: [String] = []

    /// Implementation names (e.g. "brgconv:avx512_core") of every primitive created so far, in order.
    /// A name starting with "ref" is oneDNN's slow reference kernel.
    public static var implementations: [String] { createdImplementations }

    /// Implementations created so far that are oneDNN's slow `ref:*` kernels.
    public static var referenceImplementations: [String] { createdImplementations.filter { $0.hasPrefix("ref") } }

    static func record(_ impl: String, _ what: String) { createdImplementations.append("\(what): \(impl)") }

    /// Threads for memory-bound primitives (BatchNorm, element-wise, reorders); nil: all threads.
    ///
    /// These kernels move a few MB each and finish in about a millisecond on one core, but with two
    /// OpenMP threads every internal barrier can stall for a scheduler quantum when the machine is
    /// shared (measured: BatchNorm 64×128×16×16 forward, median 0.6 ms on 1 thread vs 0.4–108 ms,
    /// max 700 ms, on 2). Convolutions and inner products always use all threads.
    nonisolated(unsafe) public static var memoryBoundThreads: Int? = 1

    /// Whether bf16 convolutions also compute weight gradients from bf16 operands (true, the default)
    /// or from the f32 activations and gradients they already have (false). Set before building networks.
    nonisolated(unsafe) public static var bf16WeightGradients = true

    /// Whether bf16 weight gradients of bias-free layers run as im2col + bf16 matmul (GemmWeightGradient):
    /// nil (the default) where that is faster (few positions, many channels: the deepest layers), true for
    /// every such layer, false never. Set before building networks.
    nonisolated(unsafe) public static var bf16GemmWeightGradients: Bool? = nil

    /// Threads for bf16 weight-gradient primitives (nil: all).
    ///
    /// oneDNN 2.6.3's bf16 weight-gradient kernel (jit_bf16:avx512_core_bf16) on two OpenMP threads is
    /// slow and erratic on a shared machine, on one thread faster than the f32 kernel on two. Measured,
    /// full-size model, `speed --threads 2`, training step in bf16 (load average 5): weight gradients in
    /// bf16 on 2 threads 3.3–5.6 s, in f32 on 2 threads 1.61–1.66 s, in f32 on 1 thread 1.55–1.61 s,
    /// in bf16 on 1 thread 1.40–1.48 s (f32 training step at the same time: 2.26–2.38 s).
    /// On a quiet machine two threads win: training step 644–701 ms on 2 threads, 827 ms on 1
    /// (f32: 1032–1045 ms). Users run on cores of their own, so the default is all threads;
    /// set 1 on a machine shared with other jobs.
    nonisolated(unsafe) public static var bf16WeightGradientThreads: Int? = nil

    /// Runs `body` with the OpenMP thread count set to `n` (nil: unchanged).
    @inline(__always)
    static func withThreads<T>(_ n: Int?, _ body: () -> T) -> T {
        guard let n else { return body() }
        let previous = omp_get_max_threads()
        if previous == Int32(n) { return body() }
        omp_set_num_threads(Int32(n))
        defer { omp_set_num_threads(previous) }
        return body()
    }
}
