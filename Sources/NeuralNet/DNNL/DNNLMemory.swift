// oneDNN memory objects: a buffer plus its descriptor (dimensions, element
// type, layout), either owning 64-byte-aligned storage or wrapping a Tensor's.
// Byte counts come from the descriptor and element counts from its DataType,
// so memories of any type share this code; the Float views (`data`,
// `plainTensor`) are for f32 memories only, as Tensors are f32.

import Records
import CDNNL

/// A oneDNN memory object: a buffer plus its layout (memory descriptor).
///
/// Either owns 64-byte-aligned zeroed storage, or wraps memory owned by
/// someone else (a Tensor) and can be re-pointed without recreating anything.
public final class DNNLMemory {
    public let desc: dnnl_memory_desc_t
    /// The element type, from `desc`.
    public let dataType: DataType
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
        dataType = DNNL.dataType(desc)
        dims = DNNL.dims(desc)
        // TensorStorage counts Float slots; round the descriptor's bytes up to whole slots.
        let slot = MemoryLayout<Float>.stride
        let s = TensorStorage(count: (DNNL.byteSize(desc) + slot - 1) / slot)
        storage = s
        var md = desc
        var h: OpaquePointer?
        DNNL.check(dnnl_memory_create(&h, &md, DNNL.engine, s.pointer), "memory_create")
        handle = h!
    }

    /// Wraps external memory of `desc`'s type (nil: point it somewhere later with `point(to:)`).
    init(desc: dnnl_memory_desc_t, wrappingRaw pointer: UnsafeMutableRawPointer?) {
        self.desc = desc
        dataType = DNNL.dataType(desc)
        dims = DNNL.dims(desc)
        storage = nil
        var md = desc
        var h: OpaquePointer?
        // A non-null placeholder: DNNL_MEMORY_ALLOCATE does not import and NULL means "no buffer".
        DNNL.check(dnnl_memory_create(&h, &md, DNNL.engine, pointer ?? DNNLMemory.placeholder), "memory_create")
        handle = h!
    }

    /// Wraps external Float memory; `desc` must be f32 (nil: point it somewhere later with `point(to:)`).
    public convenience init(desc: dnnl_memory_desc_t, wrapping pointer: UnsafeMutablePointer<Float>?) {
        precondition(DNNL.dataType(desc) == .f32, "a Float buffer needs an f32 descriptor, got \(DNNL.dataType(desc))")
        self.init(desc: desc, wrappingRaw: pointer.map { UnsafeMutableRawPointer($0) })
    }

    /// Wraps a plain row-major tensor (rank 1, 2, 3 or 4) without copying.
    public convenience init(plain tensor: Tensor) {
        self.init(desc: DNNL.plainDesc(tensor.shape, type: .f32), wrapping: tensor.data)
    }

    nonisolated(unsafe) private static let placeholder = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64)

    deinit { dnnl_memory_destroy(handle) }

    /// The buffer's first byte, whatever the element type.
    public var rawData: UnsafeMutableRawPointer {
        var p: UnsafeMutableRawPointer?
        dnnl_memory_get_data_handle(handle, &p)
        return p!
    }

    /// The buffer's first element; only for f32 memories.
    public var data: UnsafeMutablePointer<Float> {
        precondition(dataType == .f32, "Float access to a \(dataType) memory")
        return rawData.assumingMemoryBound(to: Float.self)
    }

    /// Re-points a wrapping memory at another buffer (same layout and type); no allocation.
    func point(toRaw pointer: UnsafeMutableRawPointer) {
        if storage == nil, pointer != rawData {
            DNNL.check(dnnl_memory_set_data_handle(handle, pointer), "set_data_handle")
        } else {
            precondition(storage == nil || pointer == rawData, "cannot re-point owned memory")
        }
    }

    /// Re-points a wrapping f32 memory at another Float buffer (same layout); no allocation.
    public func point(to pointer: UnsafeMutablePointer<Float>) {
        precondition(dataType == .f32, "a Float buffer for a \(dataType) memory")
        point(toRaw: UnsafeMutableRawPointer(pointer))
    }

    /// Bytes in the buffer, including blocked-layout padding.
    public var byteCount: Int { DNNL.byteSize(desc) }
    /// Number of elements in the buffer, including blocked-layout padding.
    public var physicalCount: Int { byteCount / dataType.byteSize }
    /// Number of logical elements.
    public var logicalCount: Int { dims.reduce(1, *) }

    /// True when the layout is plain row-major (a, ab, abc, abcd), of any type.
    public var isPlain: Bool { DNNL.equal(desc, DNNL.plainDesc(dims, type: dataType)) }

    /// A copy in plain row-major f32 order with shape `dims`.
    public func plainCopy() -> Tensor {
        let out = Tensor(shape: dims)
        copyPlain(into: out)
        return out
    }

    /// Writes the values into `out` (plain row-major f32, same element count), reordering
    /// (and converting to f32) if needed.
    public func copyPlain(into out: Tensor) {
        precondition(out.count == logicalCount, "copyPlain: \(dims) into \(out.shape)")
        if dataType == .f32 && isPlain {
            out.data.update(from: data, count: out.count)
        } else {
            // Made once per memory (layers reuse their output memories), so repeated copies create nothing.
            if plainCopier == nil {
                let dst = DNNLMemory(desc: DNNL.plainDesc(dims, type: .f32), wrapping: nil)
                // A wrapper of this buffer rather than `self`: the execution must not keep its owner alive.
                let src = DNNLMemory(desc: desc, wrappingRaw: rawData)
                plainCopier = (Reorder(from: desc, to: dst.desc).bind(src, dst), dst)
            }
            plainCopier!.0.memories[0].point(toRaw: rawData)  // wrapping memories can be re-pointed by their users
            plainCopier!.1.point(to: out.data)
            plainCopier!.0.run()
        }
    }
}

extension DNNLMemory {
    /// The same buffer seen as plain row-major `dims` (equal element count); only for plain owned memory.
    /// Cached, so repeated calls allocate nothing.
    public func reinterpreted(as dims: [Int]) -> DNNLMemory {
        precondition(storage != nil && isPlain && dims.reduce(1, *) == logicalCount, "cannot view \(self.dims) as \(dims)")
        if let v = views.first(where: { $0.dims == dims }) { return v }
        let v = DNNLMemory(desc: DNNL.plainDesc(dims, type: dataType), wrappingRaw: rawData)
        views.append(v)
        return v
    }

    /// Elements between consecutive batch items. Every layout used here keeps the batch dimension
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
        m.rawData.copyMemory(from: rawData, byteCount: byteCount)
        return m
    }

    /// Copies the values of `source`, which must have the same layout and type.
    public func assign(from source: DNNLMemory) {
        precondition(DNNL.equal(desc, source.desc), "assign between different layouts")
        rawData.copyMemory(from: source.rawData, byteCount: byteCount)
    }

    /// True when both memories have the same dimensions, type and physical layout.
    public func hasSameLayout(as other: DNNLMemory) -> Bool { DNNL.equal(desc, other.desc) }

    /// A new owned memory in this memory's layout and type holding `source`'s values
    /// (reordered and converted if needed; allocates).
    public func converting(_ source: DNNLMemory) -> DNNLMemory {
        precondition(source.dims == dims, "cannot convert \(source.dims) to \(dims)")
        let out = DNNLMemory(desc: desc)
        if hasSameLayout(as: source) { out.assign(from: source) } else { Reorder(from: source.desc, to: desc).run(source, out) }
        return out
    }

    /// The buffer as a plain Tensor view of shape `dims` (no copy); only for plain owned f32 memory.
    public var plainTensor: Tensor {
        precondition(storage != nil && isPlain && dataType == .f32, "plainTensor of a blocked, wrapping or \(dataType) memory")
        return Tensor(viewing: storage!, offset: 0, shape: dims)
    }
}

/// Wraps plain tensors as oneDNN memory without copying; one cached wrapper per shape.
public final class TensorWrapper {
    private var wrappers: [DNNLMemory] = []
    public init() {}

    /// A memory viewing `t`'s elements (plain f32 layout); valid while `t` lives and until the next `wrap` of this shape.
    public func wrap(_ t: Tensor) -> DNNLMemory {
        let m: DNNLMemory
        if let found = wrappers.first(where: { $0.dims == t.shape }) {
            m = found
        } else {
            m = DNNLMemory(desc: DNNL.plainDesc(t.shape, type: .f32), wrapping: t.data)
            wrappers.append(m)
        }
        m.point(to: t.data)
        return m
    }
}
