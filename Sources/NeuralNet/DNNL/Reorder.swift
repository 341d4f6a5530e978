// Reorders: conversions of one logical tensor between two descriptors — a
// different layout (plain ↔ channel-blocked), a different element type
// (f32 ↔ bf16), or both — and the two caches layers use them through
// (InputAdapter for a primitive's input, LayoutConverter for activations).

import CDNNL

/// A layout (and/or type) conversion between two descriptors of the same logical tensor.
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
        wrapper = DNNLMemory(desc: given, wrappingRaw: nil)
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
        wrapper.point(toRaw: source.rawData)
        reorder?.run()
    }
}

/// Moves activations into a target layout, with one cached reorder and buffer per source layout.
/// Memory already in the target layout passes through untouched. The element type is kept.
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

    func wanted(_ dims: [Int], type: DataType) -> dnnl_memory_desc_t {
        switch target {
        case .plain: return DNNL.plainDesc(dims, type: type)
        case .blocked:
            guard dims.count == 4 else { return DNNL.plainDesc(dims, type: type) }
            if dims[1] % 16 == 0 { return DNNL.desc(dims, dnnl_aBcd16b, type: type) }
            if dims[1] % 8 == 0 { return DNNL.desc(dims, dnnl_aBcd8b, type: type) }
            return DNNL.plainDesc(dims, type: type)
        }
    }

    /// `m` in the target layout (the returned memory is reused by the next call with the same source layout).
    public func convert(_ m: DNNLMemory) -> DNNLMemory {
        let a: InputAdapter
        if let found = adapters.first(where: { DNNL.equal($0.wrapper.desc, m.desc) }) {
            a = found
        } else {
            a = InputAdapter(given: m.desc, wanted: wanted(m.dims, type: m.dataType))
            adapters.append(a)
        }
        if a.converted == nil { return m }
        a.load(m)
        return a.memory
    }
}
