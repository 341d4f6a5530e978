// Tensor: a dense Float32 array in row-major (C) order. Images are NCHW.
//
// A tensor is a shape at an offset into shared storage: `reshaped` and `view`
// are free and alias the same memory. That is what layers need when a linear
// output of N×8192 becomes an N×512×4×4 activation, and what lets every
// parameter of a network be a view into one flat buffer. Storage is 64-byte
// aligned so oneDNN can wrap it without copying.

import Foundation

/// Owned, 64-byte-aligned Float32 memory. Freed when the last tensor viewing it goes away.
public final class TensorStorage: @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>

    public init(count: Int) {
        precondition(count >= 0, "negative element count \(count)")
        self.count = count
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }
}

/// A shape-checked view of Float32 storage in row-major order.
///
/// Rank-4 tensors holding images are NCHW: batch, channels, height, width.
public final class Tensor: @unchecked Sendable, CustomStringConvertible {
    public let shape: [Int]
    public let storage: TensorStorage
    /// Index of this tensor's first element in `storage`.
    public let offset: Int
    /// Number of elements (product of `shape`).
    public let count: Int

    /// Pointer to the first element; valid while this tensor lives.
    public var data: UnsafeMutablePointer<Float> { storage.pointer + offset }
    public var buffer: UnsafeMutableBufferPointer<Float> { .init(start: data, count: count) }
    public var rank: Int { shape.count }

    /// A zero-filled tensor, or one filled with `value`.
    public init(shape: [Int], value: Float = 0) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        self.shape = shape
        count = shape.reduce(1, *)
        offset = 0
        storage = TensorStorage(count: count)
        if value != 0 { data.update(repeating: value, count: count) }
    }

    /// A tensor holding `values` in row-major order; `values.count` must match the shape.
    public init(shape: [Int], values: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        precondition(shape.reduce(1, *) == values.count,
                     "shape \(shape) holds \(shape.reduce(1, *)) values, got \(values.count)")
        self.shape = shape
        count = values.count
        offset = 0
        storage = TensorStorage(count: values.count)
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: values.count) }
    }

    /// A view of `shape` starting at element `offset` of `storage` (no copy).
    public init(viewing storage: TensorStorage, offset: Int, shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        let n = shape.reduce(1, *)
        precondition(offset >= 0 && offset + n <= storage.count, "view \(shape) at \(offset) exceeds storage of \(storage.count)")
        self.shape = shape
        self.storage = storage
        self.offset = offset
        count = n
    }

    /// The same elements seen with another shape of equal element count (no copy).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(newShape.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        return Tensor(viewing: storage, offset: offset, shape: newShape)
    }

    public subscript(index: Int) -> Float {
        get { precondition(index >= 0 && index < count, "index \(index) out of range for \(shape)"); return data[index] }
        set { precondition(index >= 0 && index < count, "index \(index) out of range for \(shape)"); data[index] = newValue }
    }

    /// Element at an NCHW position of a rank-4 tensor.
    public subscript(n: Int, c: Int, h: Int, w: Int) -> Float {
        get { data[offset(n, c, h, w)] }
        set { data[offset(n, c, h, w)] = newValue }
    }

    @inline(__always) func offset(_ n: Int, _ c: Int, _ h: Int, _ w: Int) -> Int {
        precondition(rank == 4, "NCHW index into a rank-\(rank) tensor")
        return ((n * shape[1] + c) * shape[2] + h) * shape[3] + w
    }

    /// A copy of the elements as an array.
    public var array: [Float] { Array(buffer) }

    /// A new tensor with its own storage and the same values.
    public func copy() -> Tensor {
        let out = Tensor(shape: shape)
        out.data.update(from: data, count: count)
        return out
    }

    /// Copies the values of `source`, which must have the same element count.
    public func assign(from source: Tensor) {
        precondition(source.count == count, "assign: \(source.shape) into \(shape)")
        data.update(from: source.data, count: count)
    }

    public func fill(_ value: Float) { data.update(repeating: value, count: count) }

    /// Number of batch items (first dimension).
    public var batch: Int { shape.first ?? 1 }
    /// Elements per batch item.
    public var itemCount: Int { batch == 0 ? 0 : count / batch }

    /// Items `range` of the first dimension, copied.
    public func items(_ range: Range<Int>) -> Tensor {
        precondition(range.lowerBound >= 0 && range.upperBound <= batch, "items \(range) of \(shape)")
        var s = shape; s[0] = range.count
        let out = Tensor(shape: s)
        out.data.update(from: data + range.lowerBound * itemCount, count: out.count)
        return out
    }

    /// True when every element is finite (no NaN or ±Inf).
    public var isFinite: Bool {
        for i in 0..<count where !data[i].isFinite { return false }
        return true
    }

    public var description: String {
        let head = buffer.prefix(6).map { String(format: "%.4g", $0) }.joined(separator: ", ")
        return "Tensor\(shape)[\(head)\(count > 6 ? ", …" : "")]"
    }
}
