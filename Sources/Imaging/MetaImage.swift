// MetaImage (ITK/VTK .mhd header + raw data file, or .mha with the data inline)
// reading and writing for grey volumes: the format many OCT tools export.

import Foundation
import Records

/// Voxel storage types of MetaImage files.
public enum MetaImageElementType: String, CaseIterable, Sendable {
    case uchar = "MET_UCHAR", char = "MET_CHAR", ushort = "MET_USHORT", short = "MET_SHORT"
    case uint = "MET_UINT", int = "MET_INT", float = "MET_FLOAT", double = "MET_DOUBLE"

    /// Bytes per voxel.
    public var size: Int {
        switch self {
        case .uchar, .char: 1
        case .ushort, .short: 2
        case .uint, .int, .float: 4
        case .double: 8
        }
    }

    /// Representable range for integer types (nil for floating point).
    var integerRange: ClosedRange<Double>? {
        switch self {
        case .uchar: 0...255
        case .char: -128...127
        case .ushort: 0...65535
        case .short: -32768...32767
        case .uint: 0...4_294_967_295
        case .int: -2_147_483_648...2_147_483_647
        case .float, .double: nil
        }
    }
}

public enum MetaImage {
    /// Voxel count above which a header is treated as corrupt (16 Gi voxels).
    static let maxVoxels = 1 << 34

    /// Reads a `.mhd` (header, data in `ElementDataFile`) or `.mha` (data after the
    /// header, `ElementDataFile = LOCAL`). 2-D images read as a volume of depth 1.
    /// Supports one channel, the element types of `MetaImageElementType`, either
    /// byte order, `HeaderSize` (−1: data at the end of the file) and
    /// `CompressedData` (zlib). Throws `FileError` naming the file and the problem.
    public static func read(_ url: URL) throws -> Volume {
        try decode(readFile(url), url: url)
    }

    /// Decodes the bytes `file` of the header at `url` (which names it in errors and
    /// whose folder holds any separate data file).
    public static func decode(_ file: Data, url: URL) throws -> Volume {
        let path = url.path
        var fields: [String: String] = [:]
        var dataStart: Int?
        // Header lines up to and including ElementDataFile, which must come last.
        var lineStart = file.startIndex
        var lineNumber = 0
        while lineStart < file.endIndex {
            let lineEnd = file[lineStart...].firstIndex(of: 0x0A) ?? file.endIndex
            lineNumber += 1
            guard lineEnd - lineStart < 4096, let line = String(data: file[lineStart..<lineEnd], encoding: .utf8) else {
                throw FileError(path, "line \(lineNumber) of the header is not text (not a MetaImage header?)")
            }
            lineStart = lineEnd < file.endIndex ? lineEnd + 1 : lineEnd
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { continue }
            guard let eq = trimmed.firstIndex(of: "=") else {
                throw FileError(path, "header line \(lineNumber) \"\(trimmed.prefix(40))\" is not \"Key = Value\"")
            }
            let key = trimmed[..<eq].trimmingCharacters(in: .whitespaces)
            let value = trimmed[trimmed.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            fields[key] = value
            if key == "ElementDataFile" { dataStart = lineStart - file.startIndex; break }
        }
        guard let dataFile = fields["ElementDataFile"], let headerEnd = dataStart else {
            throw FileError(path, "MetaImage header has no ElementDataFile")
        }
        if let object = fields["ObjectType"], object != "Image" { throw FileError(path, "ObjectType \(object) is not Image") }
        if let channels = fields["ElementNumberOfChannels"], channels != "1" {
            throw FileError(path, "\(channels) channels per voxel; only grey (1) is supported")
        }
        if let binary = fields["BinaryData"], !isTrue(binary) { throw FileError(path, "ASCII MetaImage data is not supported") }

        guard let dimText = fields["DimSize"] else { throw FileError(path, "header has no DimSize") }
        let dims = dimText.split(separator: " ").compactMap { Int($0) }
        guard dims.count == dimText.split(separator: " ").count, (2...3).contains(dims.count), dims.allSatisfy({ $0 > 0 }) else {
            throw FileError(path, "DimSize \"\(dimText)\" is not 2 or 3 positive integers")
        }
        if let ndims = fields["NDims"], Int(ndims) != dims.count {
            throw FileError(path, "NDims \(ndims) does not match DimSize \"\(dimText)\"")
        }
        let (width, height, depth) = (dims[0], dims[1], dims.count == 3 ? dims[2] : 1)
        guard let voxelCount = MemoryBudget.product([width, height, depth]), voxelCount <= maxVoxels else {
            throw FileError(path, "DimSize \(dimText) is implausibly large")
        }

        var spacing = SIMD3<Double>(1, 1, 1)
        if let text = fields["ElementSpacing"] ?? fields["ElementSize"] {
            let values = text.split(separator: " ").compactMap { Double($0) }
            guard values.count == dims.count, values.allSatisfy({ $0 > 0 && $0.isFinite }) else {
                throw FileError(path, "ElementSpacing \"\(text)\" is not \(dims.count) positive numbers")
            }
            spacing = SIMD3(values[0], values[1], values.count == 3 ? values[2] : 1)
        }

        guard let typeName = fields["ElementType"] else { throw FileError(path, "header has no ElementType") }
        guard let type = MetaImageElementType(rawValue: typeName) else {
            throw FileError(path, "unsupported ElementType \(typeName) (supported: \(MetaImageElementType.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        let msb = isTrue(fields["BinaryDataByteOrderMSB"] ?? fields["ElementByteOrderMSB"] ?? "False")
        let compressed = isTrue(fields["CompressedData"] ?? "False")
        let count = voxelCount
        let needed = count * type.size
        // The stored (or decompressed) bytes plus the Float32 voxels, before reading or inflating any of them.
        try MemoryBudget.check(count * (type.size + 4), for: path, "DimSize \(dimText) of \(typeName)")

        // The data bytes: inline after the header, or in a separate file.
        var dataPath = path
        var payload: Data
        if dataFile == "LOCAL" {
            payload = file.subdata(in: file.startIndex + headerEnd..<file.endIndex)
        } else {
            guard !dataFile.contains("%"), !dataFile.hasPrefix("LIST") else {
                throw FileError(path, "multi-file ElementDataFile \"\(dataFile)\" is not supported")
            }
            let dataURL = try containedDataFile(dataFile, header: url)
            dataPath = dataURL.path
            payload = try readFile(dataURL)
        }
        if compressed {
            payload = try Gzip.inflate(payload, path: dataPath, limit: needed)
        } else if let headerSizeText = fields["HeaderSize"] {
            guard let skip = Int(headerSizeText), skip >= -1 else { throw FileError(path, "bad HeaderSize \(headerSizeText)") }
            if skip == -1 {
                guard payload.count >= needed else {
                    throw FileError(dataPath, "data is \(payload.count) bytes, DimSize \(dimText) of \(typeName) needs \(needed) (truncated)")
                }
                payload = payload.suffix(needed)
            } else {
                guard payload.count >= skip else { throw FileError(dataPath, "shorter (\(payload.count) bytes) than HeaderSize \(skip)") }
                payload = payload.dropFirst(skip)
            }
        }
        guard payload.count == needed else {
            throw FileError(dataPath, "data is \(payload.count) bytes, DimSize \(dimText) of \(typeName) needs \(needed)"
                                        + (payload.count < needed ? " (truncated)" : ""))
        }
        let voxels = decode(payload, type: type, count: count, bigEndian: msb)
        if let bad = voxels.firstIndex(where: { !$0.isFinite }) {
            throw FileError(dataPath, "voxel \(bad) is \(voxels[bad]) (not finite)")
        }
        return Volume(width: width, height: height, depth: depth, spacing: spacing, voxels: voxels)
    }

    /// Writes `volume` as MetaImage: a `.mha` URL gets one file with the data inline,
    /// anything else (normally `.mhd`) a header plus `<name>.raw` beside it.
    /// Data are little-endian. Integer types round to nearest; a value outside the
    /// type's range throws. Both files are written atomically. `extraFields` (key, value) go into
    /// the header after ElementSpacing (e.g. an input's Offset and TransformMatrix, which Volume does not keep).
    public static func write(_ volume: Volume, to url: URL, elementType: MetaImageElementType = .float,
                             extraFields: [(key: String, value: String)] = []) throws {
        if let bad = volume.voxels.firstIndex(where: { !$0.isFinite }) {
            throw FileError(url, "voxel \(bad) is \(volume.voxels[bad]) (not finite)")
        }
        if let range = elementType.integerRange,
           let bad = volume.voxels.firstIndex(where: { !range.contains(Double($0.rounded())) }) {
            throw FileError(url, "voxel \(bad) = \(volume.voxels[bad]) does not fit \(elementType.rawValue)")
        }
        let inline = url.pathExtension.lowercased() == "mha"
        let rawName = url.deletingPathExtension().lastPathComponent + ".raw"
        let s = volume.spacing
        let header = """
        ObjectType = Image
        NDims = 3
        BinaryData = True
        BinaryDataByteOrderMSB = False
        CompressedData = False
        DimSize = \(volume.width) \(volume.height) \(volume.depth)
        ElementSpacing = \(s.x) \(s.y) \(s.z)
        \(extraFields.map { "\($0.key) = \($0.value)\n" }.joined())ElementNumberOfChannels = 1
        ElementType = \(elementType.rawValue)
        ElementDataFile = \(inline ? "LOCAL" : rawName)

        """
        let payload = encode(volume.voxels, type: elementType)
        if inline {
            var file = Data(header.utf8)
            file.append(payload)
            try file.writeAtomically(to: url)
        } else {
            try payload.writeAtomically(to: url.deletingLastPathComponent().appendingPathComponent(rawName))
            try Data(header.utf8).writeAtomically(to: url)
        }
    }

    /// The data file `name` of the header at `header`, resolved (symlinks, `..`) and
    /// required to lie in the header's folder or below: a header must not make us
    /// read `/etc/passwd` or `../../secret` (the header may come from anywhere).
    static func containedDataFile(_ name: String, header: URL) throws -> URL {
        let folder = header.deletingLastPathComponent()
        let candidate = name.hasPrefix("/") ? URL(fileURLWithPath: name) : folder.appendingPathComponent(name)
        guard let root = realPath(folder.path) else { throw FileError(header, "cannot resolve the header's folder") }
        guard let resolved = realPath(candidate.path) else {
            throw FileError(header, "data file \(name) named by ElementDataFile does not exist")
        }
        let prefix = root.hasSuffix("/") ? root : root + "/"
        guard resolved.hasPrefix(prefix) else {
            throw FileError(header, "ElementDataFile \(name) resolves to \(resolved), outside the header's folder \(root); data files must lie in the header's folder or below")
        }
        return URL(fileURLWithPath: resolved)
    }

    /// The canonical absolute path (symlinks and `..` resolved), nil when it does not exist.
    private static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    private static func isTrue(_ text: String) -> Bool { ["true", "1", "yes"].contains(text.lowercased()) }

    private static func decode(_ data: Data, type: MetaImageElementType, count: Int, bigEndian: Bool) -> [Float] {
        data.withUnsafeBytes { raw -> [Float] in
            func load<T: FixedWidthInteger>(_: T.Type, _ i: Int) -> T {
                let v = raw.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self)
                return bigEndian ? T(bigEndian: v) : T(littleEndian: v)
            }
            switch type {
            case .uchar: return (0..<count).map { Float(raw[$0]) }
            case .char: return (0..<count).map { Float(Int8(bitPattern: raw[$0])) }
            case .ushort: return (0..<count).map { Float(load(UInt16.self, $0)) }
            case .short: return (0..<count).map { Float(load(Int16.self, $0)) }
            case .uint: return (0..<count).map { Float(load(UInt32.self, $0)) }
            case .int: return (0..<count).map { Float(load(Int32.self, $0)) }
            case .float: return (0..<count).map { Float(bitPattern: load(UInt32.self, $0)) }
            case .double: return (0..<count).map { Float(Double(bitPattern: load(UInt64.self, $0))) }
            }
        }
    }

    private static func encode(_ values: [Float], type: MetaImageElementType) -> Data {
        var out = Data(capacity: values.count * type.size)
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        for v in values {
            switch type {
            case .uchar: out.append(UInt8(v.rounded()))
            case .char: put(Int8(v.rounded()))
            case .ushort: put(UInt16(v.rounded()))
            case .short: put(Int16(v.rounded()))
            case .uint: put(UInt32(v.rounded()))
            case .int: put(Int32(v.rounded()))
            case .float: put(v.bitPattern)
            case .double: put(Double(v).bitPattern)
            }
        }
        return out
    }
}
