// IDX files (MNIST, Fashion-MNIST): a big-endian header of dimensions followed
// by unsigned bytes, plain or gzip-compressed.

import Foundation
import Records

/// An IDX array of unsigned bytes: images N×rows×cols or labels [N].
public struct IDXArray: Equatable, Sendable {
    public var shape: [Int]
    /// Row-major values.
    public var values: [UInt8]

    public init(shape: [Int], values: [UInt8]) {
        precondition(shape.reduce(1, *) == values.count, "IDXArray: \(values.count) values for shape \(shape)")
        self.shape = shape
        self.values = values
    }
}

public enum IDX {
    /// Element type codes of the IDX format (only unsigned byte is supported).
    static let typeNames: [UInt8: String] = [0x08: "unsigned byte", 0x09: "signed byte", 0x0B: "int16",
                                             0x0C: "int32", 0x0D: "float32", 0x0E: "float64"]
    /// Extra decompressed bytes tolerated past the size the header implies before giving up.
    static let decompressionMargin = 1 << 16

    /// Reads an IDX file; gzip is detected from the content, not the name.
    /// Wrong magic, unsupported element type, implausible dimensions and truncated
    /// or oversized data throw `FileError` naming the file.
    public static func read(_ url: URL) throws -> IDXArray {
        try decodeFile(readFile(url), path: url.path)
    }

    /// Decodes a file's bytes, plain or gzip; `path` names the file in errors.
    public static func decodeFile(_ data: Data, path: String) throws -> IDXArray {
        guard Gzip.isGzip(data) else { return try decode(data, path: path) }
        // Read the header first (its size is checked against the memory budget there),
        // then allow only as much output as it implies.
        let head = try Gzip.inflatePrefix(data, path: path, count: 4 + 4 * 4)
        let size = try header(head, path: path).total
        return try decode(Gzip.inflate(data, path: path, limit: size + decompressionMargin), path: path)
    }

    /// Decodes uncompressed IDX bytes; `path` names the file in errors.
    public static func decode(_ data: Data, path: String) throws -> IDXArray {
        let (shape, total) = try header(data, path: path)
        guard data.count == total else {
            throw FileError(path, "IDX file is \(data.count) bytes, its header (shape \(shape)) needs \(total)"
                                + (data.count < total ? " (truncated)" : ""))
        }
        let start = data.startIndex + total - shape.reduce(1, *)
        return IDXArray(shape: shape, values: [UInt8](data[start..<data.endIndex]))
    }

    /// Parses the header: the shape and the whole file's size in bytes.
    private static func header(_ data: Data, path: String) throws -> (shape: [Int], total: Int) {
        let bytes = [UInt8](data.prefix(4 + 4 * 4))
        guard bytes.count >= 4 else { throw FileError(path, "too short for an IDX header (truncated?)") }
        guard bytes[0] == 0, bytes[1] == 0 else {
            throw FileError(path, String(format: "not an IDX file (magic %02x %02x %02x %02x)", bytes[0], bytes[1], bytes[2], bytes[3]))
        }
        guard bytes[2] == 0x08 else {
            let name = typeNames[bytes[2]].map { "\($0) (0x\(String(bytes[2], radix: 16)))" } ?? "unknown type 0x\(String(bytes[2], radix: 16))"
            throw FileError(path, "IDX element type \(name) is not supported; only unsigned byte (0x08)")
        }
        let rank = Int(bytes[3])
        guard (1...4).contains(rank) else { throw FileError(path, "IDX rank \(rank) is not 1…4") }
        guard bytes.count >= 4 + 4 * rank else { throw FileError(path, "IDX header is truncated") }
        let shape = (0..<rank).map { d in
            let p = 4 + 4 * d
            return Int(bytes[p]) << 24 | Int(bytes[p + 1]) << 16 | Int(bytes[p + 2]) << 8 | Int(bytes[p + 3])
        }
        // Four 32-bit dimensions can multiply past Int.max: overflow-checked, then bounded.
        guard let count = MemoryBudget.product(shape), count <= 1 << 34 else {
            throw FileError(path, "IDX dimensions \(shape) are implausibly large")
        }
        // The bytes (decompressed, for gzip) and the array of values, before reading or inflating them.
        try MemoryBudget.check(2 * count, for: path, "IDX shape \(shape)")
        return (shape, 4 + 4 * rank + count)
    }

    /// Encodes an unsigned-byte IDX file (uncompressed).
    public static func encode(_ array: IDXArray) -> Data {
        var out: [UInt8] = [0, 0, 0x08, UInt8(array.shape.count)]
        for d in array.shape { out += [UInt8(d >> 24 & 0xFF), UInt8(d >> 16 & 0xFF), UInt8(d >> 8 & 0xFF), UInt8(d & 0xFF)] }
        return Data(out + array.values)
    }
}
