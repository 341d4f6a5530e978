// Primitive creation and execution: a primitive descriptor (oneDNN's choice of
// implementation for an op, recorded so tests and the benchmark can see slow
// `ref:*` kernels), the primitive made from it, and an Execution that binds it
// to its argument memories once and runs it as often as needed.

import CDNNL

/// A created primitive descriptor, with the queries layers need.
final class PrimitiveDescriptor {
    let handle: OpaquePointer

    /// Creates a descriptor from an op descriptor (a `dnnl_*_desc_t` value).
    /// `threads`: run with that many threads (nil: all); `memoryBound` overrides it with `DNNL.memoryBoundThreads`.
    init<Op>(_ op: Op, attr: OpaquePointer? = nil, hint: PrimitiveDescriptor? = nil, what: String, memoryBound: Bool = false,
             threads: Int? = nil) {
        var op = op
        var pd: OpaquePointer?
        let count = memoryBound ? DNNL.memoryBoundThreads : threads
        self.threads = count
        let status = DNNL.withThreads(count) {
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
