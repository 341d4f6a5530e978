// Memory descriptors: a tensor's dimensions, element type and physical layout
// (plain row-major, channel-blocked, or `any` for oneDNN to choose). Every
// descriptor is made with an explicit DataType; sizes come from oneDNN, which
// counts blocked-layout padding and the type's bytes.

import CDNNL

extension DNNL {
    /// A memory descriptor for `type` elements with `dims` in the layout `tag` (or `dnnl_format_tag_any`).
    public static func desc(_ dims: [Int], _ tag: dnnl_format_tag_t, type: DataType) -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        let d = dims.map { Int64($0) }
        check(dnnl_memory_desc_init_by_tag(&md, Int32(d.count), d, type.dnnl, tag), "memory_desc_init \(dims) \(type)")
        return md
    }

    /// A descriptor for `type` elements with `dims` at explicit element `strides` (one per dimension).
    static func desc(_ dims: [Int], strides: [Int], type: DataType) -> dnnl_memory_desc_t {
        precondition(dims.count == strides.count, "one stride per dimension")
        var md = dnnl_memory_desc_t()
        let d = dims.map { Int64($0) }, s = strides.map { Int64($0) }
        check(dnnl_memory_desc_init_by_strides(&md, Int32(d.count), d, type.dnnl, s), "memory_desc_init \(dims) strides \(strides) \(type)")
        return md
    }

    /// The plain row-major layout for a tensor of rank 1, 2, 3 or 4 (a, ab, abc, abcd).
    public static func plainTag(rank: Int) -> dnnl_format_tag_t {
        switch rank {
        case 1: return dnnl_a
        case 2: return dnnl_ab
        case 3: return dnnl_abc
        case 4: return dnnl_abcd
        default: preconditionFailure("no plain layout for rank \(rank)")
        }
    }

    /// A plain row-major descriptor for `shape`.
    static func plainDesc(_ shape: [Int], type: DataType) -> dnnl_memory_desc_t { desc(shape, plainTag(rank: shape.count), type: type) }

    static func equal(_ a: dnnl_memory_desc_t, _ b: dnnl_memory_desc_t) -> Bool {
        var a = a, b = b
        return dnnl_memory_desc_equal(&a, &b) != 0
    }

    /// The logical dimensions (e.g. N, C, H, W).
    static func dims(_ md: dnnl_memory_desc_t) -> [Int] {
        var t = md.dims
        return withUnsafeBytes(of: &t) { raw in
            Array(raw.bindMemory(to: Int64.self).prefix(Int(md.ndims))).map { Int($0) }
        }
    }

    /// The element type of `md`.
    public static func dataType(_ md: dnnl_memory_desc_t) -> DataType {
        guard let t = DataType(md.data_type) else { preconditionFailure("unsupported oneDNN data type \(md.data_type.rawValue)") }
        return t
    }

    /// Bytes a buffer for `md` needs, including blocked-layout padding.
    public static func byteSize(_ md: dnnl_memory_desc_t) -> Int {
        var m = md
        return Int(dnnl_memory_desc_get_size(&m))
    }
}
