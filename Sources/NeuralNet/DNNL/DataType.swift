// The element types memories and descriptors can hold. Every byte count in
// NeuralNet goes through `byteSize` so that a layer can switch an operand's
// type (bf16 inside convolutions, f32 master weights) by changing the type it
// asks for, and nothing else.

import CDNNL
import Records

/// The type of a memory's elements.
public enum DataType: Sendable, CaseIterable {
    /// IEEE single precision: what Tensors, parameters, gradients and optimizer state hold.
    case f32
    /// bfloat16: f32's sign and 8-bit exponent with a 7-bit mantissa (relative precision 2⁻⁸).
    case bf16
    /// Unsigned bytes: workspaces oneDNN asks for (BatchNorm's ReLU mask), never tensors.
    case u8

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .f32: return 4
        case .bf16: return 2
        case .u8: return 1
        }
    }

    /// oneDNN's name for the type.
    public var dnnl: dnnl_data_type_t {
        switch self {
        case .f32: return dnnl_f32
        case .bf16: return dnnl_bf16
        case .u8: return dnnl_u8
        }
    }

    /// The type oneDNN calls `type`; nil for types NeuralNet does not use.
    public init?(_ type: dnnl_data_type_t) {
        guard let t = DataType.allCases.first(where: { $0.dnnl == type }) else { return nil }
        self = t
    }
}

extension Precision {
    /// The type a convolution's src, weights and diff_dst have inside the primitive (its outputs are always f32).
    public var operandType: DataType {
        switch self {
        case .f32: return .f32
        case .bf16: return .bf16
        }
    }

    /// The type of src and diff_dst in the weight-gradient primitive (diff_weights is always f32).
    public var weightGradientOperandType: DataType {
        self == .bf16 && DNNL.bf16WeightGradients ? .bf16 : .f32
    }
}

extension DNNL {
    /// `md` with its element type replaced by `type`, same dimensions and layout. (oneDNN's blocked
    /// strides count elements, not bytes, so the layout carries over unchanged.)
    static func retyped(_ md: dnnl_memory_desc_t, _ type: DataType) -> dnnl_memory_desc_t {
        var out = md
        out.data_type = type.dnnl
        return out
    }
}
