// The oneDNN (2.x C API) plumbing every layer shares: one CPU engine and
// stream, memory objects over Tensor-style aligned storage, primitive
// descriptors with an implementation check, precomputed executions, reorders.
//
// Layers create their primitives once per input layout (which includes the
// batch size) and keep them; activations stay in whatever (blocked) layout
// oneDNN chose, and are reordered only where a caller needs plain NCHW.

import Records
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

    static func check(_ status: dnnl_status_t, _ what: @autoclosure () -> String) {
        precondition(status == dnnl_success, "oneDNN \(what()) failed with status \(status.rawValue)")
    }

    /// A memory descriptor for f32 data with `dims` in the layout `tag` (or `dnnl_format_tag_any`).
    public static func desc(_ dims: [Int], _ tag: dnnl_format_tag_t) -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        let d = dims.map { Int64($0) }
        check(dnnl_memory_desc_init_by_tag(&md, Int32(d.count), d, dnnl_f32, tag), "memory_desc_init \(dims)")
        return md
    }

    /// The plain row-major layout for a tensor of rank 1, 2 or 4 (x, nc, nchw).
    public static func plainTag(rank: Int) -> dnnl_format_tag_t {
        switch rank {
        case 1: return dnnl_a
        case 2: return dnnl_ab
        case 3: return dnnl_abc
        case 4: return dnnl_abcd
        default: preconditionFailure("no plain layout for rank \(rank)")
        }
    }

    static func plainDesc(_ shape: [Int]) -> dnnl_memory_desc_t { desc(shape, plainTag(rank: shape.count)) }

    static func equal(_ a: dnnl_memory_desc_t, _ b: dnnl_memory_desc_t) -> Bool {
        var a = a, b = b
        return dnnl_memory_desc_equal(&a, &b) != 0
    }

    static func dims(_ md: dnnl_memory_desc_t) -> [Int] {
        var t = md.dims
        return withUnsafeBytes(of: &t) { raw in
            Array(raw.bindMemory(to: Int64.self).prefix(Int(md.ndims))).map { Int($0) }
        }
    }

    static func byteSize(_ md: dnnl_memory_desc_t) -> Int {
        var m = md
        return Int(dnnl_memory_desc_get_size(&m))
    }
}

/// A oneDNN memory object: a buffer plus its layout (memory descriptor).
///
/// Either owns 64-byte-aligned zeroed storage, or wraps memory owned by
/// someone else (a Tensor) and can be re-pointed without recreating anything.
public final class DNNLMemory {
    public let desc: dnnl_memory_desc_t
    let handle: OpaquePointer
    /// Owned storage, when this memory allocated its buffer.
    let storage: TensorStorage?
    /// Plain reinterpretations handed out by `reinterpreted(as:)`.
    fileprivate var views: [DNNLMemory] = []
    /// The reorder behind `copyPlain(into:)` and its destination wrapper.
    private var plainCopier: (Execution, DNNLMemory)?
    /// The logical dimensions (e.g. N, C, H, W), whatever the physical layout.
    public let dims: [Int]

    /// Allocates a zeroed buffer big enough for `desc` (including any padding of blocked layouts).
    public init(desc: dnnl_memory_desc_t) {
        self.desc = desc
        dims = DNNL.dims(desc)
        let floats = (DNNL.byteSize(desc) + 3) / 4
        let s = TensorStorage(count: floats)
        storage = s
        var md = desc
        var h: OpaquePointer?
        DNNL.check(dnnl_memory_create(&h, &md, DNNL.engine, s.pointer), "memory_create")
        handle = h!
    }

    /// Wraps external memory (nil: point it somewhere later with `point(to:)`).
    public init(desc: dnnl_memory_desc_t, wrapping pointer: UnsafeMutablePointer<Float>?) {
        self.desc = desc
        dims = DNNL.dims(desc)
        storage = nil
        var md = desc
        var h: OpaquePointer?
        // A non-null placeholder: DNNL_MEMORY_ALLOCATE does not import and NULL means "no buffer".
        DNNL.check(dnnl_memory_create(&h, &md, DNNL.engine, pointer ?? DNNLMemory.placeholder), "memory_create")
        handle = h!
    }

    /// Wraps a plain row-major tensor (rank 1, 2 or 4) without copying.
    public convenience init(plain tensor: Tensor) {
        self.init(desc: DNNL.plainDesc(tensor.shape), wrapping: tensor.data)
    }

    nonisolated(unsafe) private static let placeholder = UnsafeMutablePointer<Float>.allocate(capacity: 16)

    deinit { dnnl_memory_destroy(handle) }

    /// The buffer's first element.
    public var data: UnsafeMutablePointer<Float> {
        var p: UnsafeMutableRawPointer?
        dnnl_memory_get_data_handle(handle, &p)
        return p!.assumingMemoryBound(to: Float.self)
    }

    /// Re-points a wrapping memory at another buffer (same layout); no allocation.
    public func point(to pointer: UnsafeMutablePointer<Float>) {
        if storage == nil, pointer != data {
            DNNL.check(dnnl_memory_set_data_handle(handle, pointer), "set_data_handle")
        } else {
            precondition(storage == nil || pointer == data, "cannot re-point owned memory")
        }
    }

    /// Number of Float32 slots in the buffer, including blocked-layout padding.
    public var physicalCount: Int { DNNL.byteSize(desc) / 4 }
    /// Number of logical elements.
    public var logicalCount: Int { dims.reduce(1, *) }

    /// True when the layout is plain row-major (x, nc, nchw).
    public var isPlain: Bool { DNNL.equal(desc, DNNL.plainDesc(dims)) }

    /// A copy in plain row-major order with shape `dims`.
    public func plainCopy() -> Tensor {
        let out = Tensor(shape: dims)
        copyPlain(into: out)
        return out
    }

    /// Writes the values into `out` (plain row-major, same element count), reordering if needed.
    public func copyPlain(into out: Tensor) {
        precondition(out.count == logicalCount, "copyPlain: \(dims) into \(out.shape)")
        if isPlain {
            out.data.update(from: data, count: out.count)
        } else {
            // Made once per memory (layers reuse their output memories), so repeated copies create nothing.
            if plainCopier == nil {
                let dst = DNNLMemory(desc: DNNL.plainDesc(dims), wrapping: nil)
                // A wrapper of this buffer rather than `self`: the execution must not keep its owner alive.
                let src = DNNLMemory(desc: desc, wrapping: data)
                plainCopier = (Reorder(from: desc, to: dst.desc).bind(src, dst), dst)
            }
            plainCopier!.0.memories[0].point(to: data)  // wrapping memories can be re-pointed by their users
            plainCopier!.1.point(to: out.data)
            plainCopier!.0.run()
        }
    }
}

/// A created primitive descriptor, with the queries layers need.
final class PrimitiveDescriptor {
    let handle: OpaquePointer

    /// Creates a descriptor from an op descriptor (a `dnnl_*_desc_t` value).
    init<Op>(_ op: Op, attr: OpaquePointer? = nil, hint: PrimitiveDescriptor? = nil, what: String, memoryBound: Bool = false) {
        var op = op
        var pd: OpaquePointer?
        threads = memoryBound ? DNNL.memoryBoundThreads : nil
        let status = DNNL.withThreads(threads) {
            withUnsafePointer(to: &op) {
                dnnl_primitive_desc_create(&pd, UnsafeRawPointer($0), attr, DNNL.engine, hint?.handle)
            }
        }
        DNNL.check(status, "primitive_desc_create \(what)")
        handle = pd!
        self.what = what
    }

    /// Thread count the primitive is created and run with (nil: all).
    let threads: Int?

    /// What the descriptor is for, in messages and the implementation list.
    let what: String

    init(reorderFrom src: dnnl_memory_desc_t, to dst: dnnl_memory_desc_t, attr: OpaquePointer? = nil) {
        var s = src, d = dst
        var pd: OpaquePointer?
        threads = DNNL.memoryBoundThreads
        DNNL.withThreads(threads) {
            DNNL.check(dnnl_reorder_primitive_desc_create(&pd, &s, DNNL.engine, &d, DNNL.engine, attr), "reorder_primitive_desc_create")
        }
        handle = pd!
        what = "reorder"
    }

    /// True when oneDNN chose its slow reference kernel.
    var isReference: Bool { implementation.hasPrefix("ref") }

    deinit { dnnl_primitive_desc_destroy(handle) }

    func md(_ what: dnnl_query_t, _ index: Int32 = 0) -> dnnl_memory_desc_t {
        dnnl_primitive_desc_query_md(handle, what, index)!.pointee
    }

    var implementation: String {
        var s: UnsafePointer<CChar>?
        dnnl_primitive_desc_query(handle, dnnl_query_impl_info_str, 0, &s)
        return s.map { String(cString: $0) } ?? "?"
    }

    /// Creates the primitive and records its implementation in `DNNL.implementations`.
    func makePrimitive() -> Primitive {
        if what != "reorder" { DNNL.record(implementation, what) }
        return Primitive(self)
    }
}

/// A created primitive; `run` executes it with arguments fixed at creation of the plan.
final class Primitive {
    let handle: OpaquePointer
    let threads: Int?
    init(_ pd: PrimitiveDescriptor) {
        var p: OpaquePointer?
        threads = pd.threads
        DNNL.withThreads(threads) { DNNL.check(dnnl_primitive_create(&p, pd.handle), "primitive_create") }
        handle = p!
    }
    deinit { dnnl_primitive_destroy(handle) }
}

/// A primitive bound to its argument memories, executed as often as needed.
struct Execution {
    let primitive: Primitive
    let args: [dnnl_exec_arg_t]
    /// Memories referenced by `args`, kept alive with the execution.
    let memories: [DNNLMemory]

    init(_ primitive: Primitive, _ arguments: [(Int32, DNNLMemory)]) {
        self.primitive = primitive
        args = arguments.map { dnnl_exec_arg_t(arg: $0.0, memory: $0.1.handle) }
        memories = arguments.map { $0.1 }
    }

    func run() {
        DNNL.withThreads(primitive.threads) {
            args.withUnsafeBufferPointer {
                DNNL.check(dnnl_primitive_execute(primitive.handle, DNNL.stream, Int32($0.count), $0.baseAddress), "execute")
            }
            DNNL.check(dnnl_stream_wait(DNNL.stream), "stream_wait")
        }
    }
}

/// A layout conversion between two descriptors of the same logical tensor.
/// With `accumulate`, the destination is added to instead of overwritten.
final class Reorder {
    let primitive: Primitive
    let src: dnnl_memory_desc_t
    let dst: dnnl_memory_desc_t

    init(from src: dnnl_memory_desc_t, to dst: dnnl_memory_desc_t, accumulate: Bool = false) {
        self.src = src
        self.dst = dst
        var attr: OpaquePointer?
        if accumulate {
            DNNL.check(dnnl_primitive_attr_create(&attr), "attr_create")
            var po: OpaquePointer?
            DNNL.check(dnnl_post_ops_create(&po), "post_ops_create")
            DNNL.check(dnnl_post_ops_append_sum(po, 1), "append_sum")
            DNNL.check(dnnl_primitive_attr_set_post_ops(attr, po), "set_post_ops")
            dnnl_post_ops_destroy(po)
        }
        let pd = PrimitiveDescriptor(reorderFrom: src, to: dst, attr: attr)
        if let attr { dnnl_primitive_attr_destroy(attr) }
        primitive = pd.makePrimitive()
    }

    /// Executes with explicit memories (not precomputed; used outside hot loops and for bound plans).
    func run(_ from: DNNLMemory, _ to: DNNLMemory) {
        Execution(primitive, [(DNNL_ARG_SRC, from), (DNNL_ARG_DST, to)]).run()
    }

    func bind(_ from: DNNLMemory, _ to: DNNLMemory) -> Execution {
        Execution(primitive, [(DNNL_ARG_SRC, from), (DNNL_ARG_DST, to)])
    }
}

/// An attribute holding one eltwise post-op (for fusing an activation into a convolution).
func eltwiseAttribute(_ kind: ActivationKind?) -> OpaquePointer? {
    guard let kind else { return nil }
    var attr: OpaquePointer?
    DNNL.check(dnnl_primitive_attr_create(&attr), "attr_create")
    var po: OpaquePointer?
    DNNL.check(dnnl_post_ops_create(&po), "post_ops_create")
    DNNL.check(dnnl_post_ops_append_eltwise(po, 1, kind.forwardAlgorithm, kind.alpha, 0), "append_eltwise")
    DNNL.check(dnnl_primitive_attr_set_post_ops(attr, po), "set_post_ops")
    dnnl_post_ops_destroy(po)
    return attr
}

/// Holds an input that may need a reorder into the layout a primitive wants.
///
/// `wrapper` is re-pointed at the caller's buffer on every call; when the
/// caller's layout differs from the wanted one, `converted` receives a reorder.
final class InputAdapter {
    let wrapper: DNNLMemory
    let converted: DNNLMemory?
    let reorder: Execution?
    /// The memory the primitive reads.
    var memory: DNNLMemory { converted ?? wrapper }

    init(given: dnnl_memory_desc_t, wanted: dnnl_memory_desc_t) {
        wrapper = DNNLMemory(desc: given, wrapping: nil)
        if DNNL.equal(given, wanted) {
            converted = nil
            reorder = nil
        } else {
            let c = DNNLMemory(desc: wanted)
            converted = c
            reorder = Reorder(from: given, to: wanted).bind(wrapper, c)
        }
    }

    /// Points at `source` (whose layout must be `given`) and reorders if needed.
    func load(_ source: DNNLMemory) {
        wrapper.point(to: source.data)
        reorder?.run()
    }
}

extension DNNLMemory {
    /// The same buffer seen as plain row-major `dims` (equal element count); only for plain owned memory.
    /// Cached, so repeated calls allocate nothing.
    public func reinterpreted(as dims: [Int]) -> DNNLMemory {
        precondition(storage != nil && isPlain && dims.reduce(1, *) == logicalCount, "cannot view \(self.dims) as \(dims)")
        if let v = views.first(where: { $0.dims == dims }) { return v }
        let v = DNNLMemory(desc: DNNL.plainDesc(dims), wrapping: data)
        views.append(v)
        return v
    }
}

/// Moves activations into a target layout, with one cached reorder and buffer per source layout.
/// Memory already in the target layout passes through untouched.
public final class LayoutConverter {
    public enum Target: Sendable {
        /// Plain row-major (NCHW).
        case plain
        /// Channel-blocked (nChw16c or nChw8c when the channel count allows), what BatchNorm and convolutions run fast on.
        case blocked
    }

    public let target: Target
    private var adapters: [InputAdapter] = []

    public init(_ target: Target) { self.target = target }

    func wanted(_ dims: [Int]) -> dnnl_memory_desc_t {
        switch target {
        case .plain: return DNNL.plainDesc(dims)
        case .blocked:
            guard dims.count == 4 else { return DNNL.plainDesc(dims) }
            if dims[1] % 16 == 0 { return DNNL.desc(dims, dnnl_aBcd16b) }
            if dims[1] % 8 == 0 { return DNNL.desc(dims, dnnl_aBcd8b) }
            return DNNL.plainDesc(dims)
        }
    }

    /// `m` in the target layout (the returned memory is reused by the next call with the same source layout).
    public func convert(_ m: DNNLMemory) -> DNNLMemory {
        let a: InputAdapter
        if let found = adapters.first(where: { DNNL.equal($0.wrapper.desc, m.desc) }) {
            a = found
        } else {
            a = InputAdapter(given: m.desc, wanted: wanted(m.dims))
            adapters.append(a)
        }
        if a.converted == nil { return m }
        a.load(m)
        return a.memory
    }
}

extension DNNLMemory {
    /// Float slots between consecutive batch items. Every layout used here keeps the batch dimension
    /// outermost, so item n occupies [n·itemStride, (n+1)·itemStride) (padding, if any, is zero).
    public var itemStride: Int {
        let n = dims[0]
        let stride = Int(desc.format_desc.blocking.strides.0)
        precondition(desc.format_kind == dnnl_blocked && stride * n == physicalCount, "batch is not the outermost dimension")
        return stride
    }

    /// A new owned memory with the same layout and values.
    public func copy() -> DNNLMemory {
        let m = DNNLMemory(desc: desc)
        m.data.update(from: data, count: physicalCount)
        return m
    }

    /// Copies the values of `source`, which must have the same layout.
    public func assign(from source: DNNLMemory) {
        precondition(DNNL.equal(desc, source.desc), "assign between different layouts")
        data.update(from: source.data, count: physicalCount)
    }
}

/// Wraps plain tensors as oneDNN memory without copying; one cached wrapper per shape.
public final class TensorWrapper {
    private var wrappers: [DNNLMemory] = []
    public init() {}

    /// A memory viewing `t`'s elements (plain layout); valid while `t` lives and until the next `wrap` of this shape.
    public func wrap(_ t: Tensor) -> DNNLMemory {
        let m: DNNLMemory
        if let found = wrappers.first(where: { $0.dims == t.shape }) {
            m = found
        } else {
            m = DNNLMemory(desc: DNNL.plainDesc(t.shape), wrapping: t.data)
            wrappers.append(m)
        }
        m.point(to: t.data)
        return m
    }
}

extension DNNLMemory {
    /// True when both memories have the same dimensions and physical layout.
    public func hasSameLayout(as other: DNNLMemory) -> Bool { DNNL.equal(desc, other.desc) }

    /// A new owned memory in this memory's layout holding `source`'s values (reordered if needed; allocates).
    public func converting(_ source: DNNLMemory) -> DNNLMemory {
        precondition(source.dims == dims, "cannot convert \(source.dims) to \(dims)")
        let out = DNNLMemory(desc: desc)
        if hasSameLayout(as: source) { out.assign(from: source) } else { Reorder(from: source.desc, to: desc).run(source, out) }
        return out
    }
}

extension DNNLMemory {
    /// The buffer as a plain Tensor view of shape `dims` (no copy); only for plain owned memory.
    public var plainTensor: Tensor {
        precondition(storage != nil && isPlain, "plainTensor of a blocked or wrapping memory")
        return Tensor(viewing: storage!, offset: 0, shape: dims)
    }
}
