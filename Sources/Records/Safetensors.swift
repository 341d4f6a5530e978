// The safetensors format (Hugging Face): the checkpoint format of anogan, so a
// trained G and D open in Python with `safetensors.numpy.load_file` or
// `safetensors.torch.load_file` without any conversion.
//
// Layout: u64 little-endian header length N, N bytes of JSON
//   {"__metadata__": {string: string}, name: {"dtype", "shape", "data_offsets": [begin, end]}, …}
// padded with spaces so the data starts 8-byte aligned, then the raw little-endian
// tensor bytes; offsets count from the start of the data. The reader trusts
// nothing in the header: every length and offset is checked before use.

import Foundation

public enum Safetensors {
    /// Element types the reader converts to Float32. The writer always writes F32.
    enum DType: String {
        case f32 = "F32", f64 = "F64", f16 = "F16", bf16 = "BF16"
        case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8", u8 = "U8", u16 = "U16", bool = "BOOL"

        var size: Int {
            switch self {
            case .f64, .i64: 8
            case .f32, .i32: 4
            case .f16, .bf16, .i16, .u16: 2
            case .i8, .u8, .bool: 1
            }
        }
    }

    /// Header lengths above this are rejected as corrupt rather than allocated
    /// (the reference implementation uses the same 100 MB bound).
    static let maximumHeaderLength = 100_000_000

    // MARK: Writing

    /// The file's bytes: tensors as F32 in the given order, `metadata` under "__metadata__".
    /// Throws a `FileError` naming `path` for duplicate or reserved names.
    public static func encode(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String], path: String) throws -> Data {
        var seen = Set<String>()
        var entries: [String] = []
        if !metadata.isEmpty {
            // Sorted so the same checkpoint always gives the same bytes.
            let pairs = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            entries.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for (name, tensor) in tensors {
            guard name != "__metadata__" else { throw FileError(path, "tensor name __metadata__ is reserved") }
            guard seen.insert(name).inserted else { throw FileError(path, "duplicate tensor name \(name)") }
            let bytes = tensor.count * 4
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            entries.append("\(jsonString(name)):{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        var header = Array("{\(entries.joined(separator: ","))}".utf8)
        header += [UInt8](repeating: 0x20, count: (8 - header.count % 8) % 8)

        var out = Data(capacity: 8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: header)
        for (_, tensor) in tensors {
            // Float32 storage is little-endian on every platform Swift targets here.
            out.append(UnsafeBufferPointer(start: tensor.data, count: tensor.count))
        }
        return out
    }

    /// Writes `tensors` (F32, in the given order) and string `metadata` to `url` atomically.
    public static func write(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String], to url: URL) throws {
        try encode(tensors, metadata: metadata, path: url.path).writeAtomically(to: url)
    }

    /// A JSON string literal with the escapes RFC 8259 requires.
    static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    // MARK: Reading

    /// Reads a safetensors file. Every tensor is converted to Float32 (F32, F64,
    /// F16, BF16, I64, I32, I16, I8, U8, U16, BOOL); `order` lists the names in
    /// file (data offset) order. A corrupt or truncated file throws a `FileError`.
    public static func read(_ url: URL) throws -> (tensors: [String: Tensor], order: [String], metadata: [String: String]) {
        try decode(readFile(url), path: url.path)
    }

    /// Decodes the bytes of a safetensors file; `path` names the file in errors.
    public static func decode(_ data: Data, path: String) throws -> (tensors: [String: Tensor], order: [String], metadata: [String: String]) {
        // Index from 0 (a slice of a larger Data keeps its parent's indices); no copy otherwise.
        let bytes = data.startIndex == 0 ? data : Data(data)
        guard bytes.count >= 8 else {
            throw FileError(path, "not a safetensors file: \(bytes.count) bytes, shorter than the 8-byte header length")
        }
        let declared = bytes[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard declared <= UInt64(maximumHeaderLength) else {
            throw FileError(path, "corrupt safetensors header length \(declared)")
        }
        let headerLength = Int(declared)
        guard 8 + headerLength <= bytes.count else {
            throw FileError(path, "truncated: header length \(headerLength) but only \(bytes.count - 8) bytes follow")
        }
        let headerBytes = bytes.subdata(in: 8..<8 + headerLength)
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: headerBytes) } catch {
            throw FileError(path, "safetensors header is not valid JSON")
        }
        guard let header = json as? [String: Any] else { throw FileError(path, "safetensors header is not a JSON object") }

        var metadata: [String: String] = [:]
        if let raw = header["__metadata__"] {
            guard let dict = raw as? [String: Any] else { throw FileError(path, "__metadata__ is not an object") }
            for (key, value) in dict {
                guard let s = value as? String else { throw FileError(path, "__metadata__ value for \(key) is not a string") }
                metadata[key] = s
            }
        }

        struct Entry { let name: String; let dtype: DType; let shape: [Int]; let begin: Int; let end: Int }
        let dataLength = bytes.count - 8 - headerLength
        var entries: [Entry] = []
        for (name, raw) in header where name != "__metadata__" {
            guard let info = raw as? [String: Any] else { throw FileError(path, "tensor \(name): entry is not an object") }
            guard let dtypeName = info["dtype"] as? String else { throw FileError(path, "tensor \(name): missing dtype") }
            guard let dtype = DType(rawValue: dtypeName) else { throw FileError(path, "tensor \(name): unsupported dtype \(dtypeName)") }
            guard let shape = integers(info["shape"]), shape.allSatisfy({ $0 >= 0 }) else {
                throw FileError(path, "tensor \(name): shape is not a list of non-negative integers")
            }
            guard let offsets = integers(info["data_offsets"]), offsets.count == 2 else {
                throw FileError(path, "tensor \(name): data_offsets is not a pair of integers")
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, begin <= end else { throw FileError(path, "tensor \(name): bad data_offsets [\(begin), \(end)]") }
            guard end <= dataLength else {
                throw FileError(path, "truncated: tensor \(name) ends at data byte \(end) but the file holds \(dataLength) data bytes")
            }
            var elements = 1
            for d in shape {
                let (p, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow else { throw FileError(path, "tensor \(name): shape \(shape) is too large") }
                elements = p
            }
            guard elements.multipliedReportingOverflow(by: dtype.size).overflow == false,
                  end - begin == elements * dtype.size else {
                throw FileError(path, "tensor \(name): data_offsets span \(end - begin) bytes, shape \(shape) of \(dtypeName) needs \(elements &* dtype.size)")
            }
            entries.append(Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end))
        }

        // The format requires the tensors to tile the data exactly: no overlap, no holes.
        entries.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var position = 0
        for e in entries {
            if e.begin < position {
                throw FileError(path, "tensor \(e.name): data_offsets [\(e.begin), \(e.end)] overlap another tensor")
            }
            if e.begin > position {
                throw FileError(path, "tensor \(e.name): \(e.begin - position) unused data bytes before it")
            }
            position = e.end
        }
        if position != dataLength {
            throw FileError(path, "\(dataLength - position) bytes after the last tensor")
        }

        // Every tensor becomes Float32: up to 4× the stored bytes of an 8- or 16-bit tensor.
        let floatBytes = MemoryBudget.sum(entries.map { MemoryBudget.product($0.shape + [4]) })
        try MemoryBudget.check(floatBytes, for: path, "\(entries.count) tensors as float32")

        var tensors: [String: Tensor] = [:]
        let dataStart = 8 + headerLength
        bytes.withUnsafeBytes { raw in
            for e in entries {
                let t = Tensor(shape: e.shape)
                convert(UnsafeRawBufferPointer(rebasing: raw[dataStart + e.begin..<dataStart + e.end]), e.dtype, into: t.data, count: t.count)
                tensors[e.name] = t
            }
        }
        return (tensors, entries.map(\.name), metadata)
    }

    /// An array of integers from a JSON value, or nil when it is anything else
    /// (floats with fractions, booleans, strings, numbers beyond Int).
    private static func integers(_ value: Any?) -> [Int]? {
        guard let list = value as? [Any] else { return nil }
        var out: [Int] = []
        for item in list {
            guard let n = item as? NSNumber, !isBoolean(n) else { return nil }
            let d = n.doubleValue
            guard d.rounded() == d, abs(d) < 9.0e15, let i = Int(exactly: d) else { return nil }
            out.append(i)
        }
        return out
    }

    /// JSON `true`/`false` arrive as NSNumber too; their type code is "c" (char).
    private static func isBoolean(_ n: NSNumber) -> Bool {
        String(cString: n.objCType) == "c"
    }

    /// Little-endian elements of `dtype` → Float32.
    private static func convert(_ src: UnsafeRawBufferPointer, _ dtype: DType, into dst: UnsafeMutablePointer<Float>, count n: Int) {
        switch dtype {
        case .f32: for i in 0..<n { dst[i] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
        case .f64: for i in 0..<n { dst[i] = Float(Double(bitPattern: UInt64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
        case .f16: for i in 0..<n { dst[i] = halfToFloat(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
        case .bf16: for i in 0..<n { dst[i] = Float(bitPattern: UInt32(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16) }
        case .i64: for i in 0..<n { dst[i] = Float(Int64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))) }
        case .i32: for i in 0..<n { dst[i] = Float(Int32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) }
        case .i16: for i in 0..<n { dst[i] = Float(Int16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self))) }
        case .u16: for i in 0..<n { dst[i] = Float(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
        case .i8: for i in 0..<n { dst[i] = Float(Int8(bitPattern: src[i])) }
        case .u8, .bool: for i in 0..<n { dst[i] = Float(src[i]) }
        }
    }

    /// IEEE 754 binary16 → Float32, exact for every value (subnormals, ±Inf, NaN).
    static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h >> 15) << 31
        let exponent = Int(h >> 10) & 0x1F
        let mantissa = UInt32(h & 0x3FF)
        switch exponent {
        case 0:
            // Zero or subnormal: mantissa · 2^-24.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        case 0x1F:
            return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13)
        default:
            return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | mantissa << 13)
        }
    }
}
