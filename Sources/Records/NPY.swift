// NumPy .npy files (format 1.0/2.0/3.0, C order, little-endian), so every
// tensor, patch set, label and mask anogan writes opens with numpy.load.

import Foundation

/// Element types anogan reads and writes.
public enum NPYType: String, Sendable {
    case float32 = "<f4", float64 = "<f8", uint8 = "|u1", int32 = "<i4", int64 = "<i8", uint16 = "<u2"

    var size: Int {
        switch self {
        case .uint8: 1
        case .uint16: 2
        case .float32, .int32: 4
        case .float64, .int64: 8
        }
    }
}

/// A decoded .npy array: shape, element type and the raw little-endian payload.
public struct NPYArray: Sendable {
    public var shape: [Int]
    public var type: NPYType
    public var payload: Data

    public init(shape: [Int], type: NPYType, payload: Data) {
        self.shape = shape
        self.type = type
        self.payload = payload
    }

    /// The values converted to Float32 (exact for every type but large int64/float64).
    public func floats() -> [Float] {
        let n = shape.reduce(1, *)
        return payload.withUnsafeBytes { raw -> [Float] in
            switch type {
            case .float32: return (0..<n).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self).littleEndian) }
            case .float64: return (0..<n).map { Float(Double(bitPattern: raw.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self).littleEndian)) }
            case .uint8: return (0..<n).map { Float(raw[$0]) }
            case .uint16: return (0..<n).map { Float(raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self).littleEndian) }
            case .int32: return (0..<n).map { Float(raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self).littleEndian) }
            case .int64: return (0..<n).map { Float(raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self).littleEndian) }
            }
        }
    }
}

public enum NPY {
    private static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY

    /// Encodes an array as a version 1.0 .npy file.
    public static func encode(_ array: NPYArray) -> Data {
        precondition(array.payload.count == array.shape.reduce(1, *) * array.type.size, "payload does not match shape")
        let dims = array.shape.map(String.init).joined(separator: ", ")
        let shapeText = array.shape.count == 1 ? "(\(dims),)" : "(\(dims))"
        var header = "{'descr': '\(array.type.rawValue)', 'fortran_order': False, 'shape': \(shapeText), }"
        // Magic (6) + version (2) + length (2) + header must be a multiple of 64, ending in "\n".
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var out = Data(magic)
        out.append(contentsOf: [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)])
        out.append(contentsOf: Array(header.utf8))
        out.append(array.payload)
        return out
    }

    /// Decodes a .npy file; `path` names the file in errors.
    public static func decode(_ data: Data, path: String) throws -> NPYArray {
        let bytes = [UInt8](data)
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            throw FileError(path, "not a .npy file (bad magic)")
        }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw FileError(path, "truncated .npy header") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default:
            throw FileError(path, "unsupported .npy version \(major)")
        }
        guard bytes.count >= headerStart + headerLength else { throw FileError(path, "truncated .npy header") }
        guard let header = String(bytes: bytes[headerStart..<headerStart + headerLength], encoding: .utf8) else {
            throw FileError(path, ".npy header is not text")
        }
        guard let descr = field("descr", in: header), let type = NPYType(rawValue: descr.trimmingCharacters(in: CharacterSet(charactersIn: "'\""))) else {
            throw FileError(path, "unsupported .npy element type in header \(header.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        if let order = field("fortran_order", in: header), order.hasPrefix("True") {
            throw FileError(path, "Fortran-order .npy arrays are not supported; save with C order")
        }
        guard let shapeText = field("shape", in: header) else { throw FileError(path, ".npy header has no shape") }
        let inner = shapeText.trimmingCharacters(in: CharacterSet(charactersIn: "() "))
        var shape: [Int] = []
        for part in inner.split(separator: ",") {
            let s = part.trimmingCharacters(in: .whitespaces)
            if s.isEmpty { continue }
            guard let d = Int(s), d >= 0 else { throw FileError(path, "bad .npy shape \(shapeText)") }
            shape.append(d)
        }
        guard let elements = MemoryBudget.product(shape), let expected = MemoryBudget.product([elements, type.size]) else {
            throw FileError(path, "bad .npy shape \(shapeText) (its size overflows)")
        }
        // Readers convert to Float32 (a copy of 4 bytes per element beside the payload).
        try MemoryBudget.check(MemoryBudget.product([elements, 4]), for: path, ".npy shape \(shape) as float32")
        let start = headerStart + headerLength
        guard bytes.count - start == expected else {
            throw FileError(path, "payload is \(bytes.count - start) bytes, shape \(shape) of \(type.rawValue) needs \(expected)"
                                + (bytes.count - start < expected ? " (truncated)" : ""))
        }
        return NPYArray(shape: shape, type: type, payload: data.subdata(in: data.startIndex + start..<data.startIndex + start + expected))
    }

    /// The text after `'key':` up to the next top-level comma (shape tuples kept whole).
    private static func field(_ key: String, in header: String) -> String? {
        guard let r = header.range(of: "'\(key)':") else { return nil }
        var rest = header[r.upperBound...].drop(while: { $0 == " " })
        if rest.first == "(" {
            guard let close = rest.firstIndex(of: ")") else { return nil }
            return String(rest[...close])
        }
        if let comma = rest.firstIndex(where: { $0 == "," || $0 == "}" }) { rest = rest[..<comma] }
        return rest.trimmingCharacters(in: .whitespaces)
    }

    // MARK: Files

    public static func read(_ url: URL) throws -> NPYArray {
        try decode(readFile(url), path: url.path)
    }

    public static func write(_ array: NPYArray, to url: URL) throws {
        try encode(array).writeAtomically(to: url)
    }

    /// Reads any numeric .npy as a Float32 tensor of the same shape. Fewer axes than
    /// `minimumRank` throw (a 0-d scalar where images are expected must not reach code
    /// that indexes shape[0]).
    public static func readTensor(_ url: URL, minimumRank: Int = 0) throws -> Tensor {
        let a = try read(url)
        guard a.shape.count >= minimumRank else {
            throw FileError(url, "holds a \(a.shape.count)-d array (shape \(a.shape)); expected at least \(minimumRank) axes")
        }
        return Tensor(shape: a.shape, values: a.floats())
    }

    /// Writes a tensor as float32 .npy.
    public static func write(_ tensor: Tensor, to url: URL) throws {
        try write(NPYArray(tensor), to: url)
    }
}

extension NPYArray {
    /// A float32 array holding the tensor's values.
    public init(_ tensor: Tensor) {
        self.init(shape: tensor.shape, type: .float32,
                  payload: Data(bytes: tensor.data, count: tensor.count * 4))
    }

    /// An int64 array (labels).
    public init(int64 values: [Int64], shape: [Int]) {
        precondition(shape.reduce(1, *) == values.count)
        self.init(shape: shape, type: .int64, payload: values.withUnsafeBytes { Data($0) })
    }

    /// A uint8 array (masks).
    public init(uint8 values: [UInt8], shape: [Int]) {
        precondition(shape.reduce(1, *) == values.count)
        self.init(shape: shape, type: .uint8, payload: Data(values))
    }
}
