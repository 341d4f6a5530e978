// Safetensors: round trips, every element type the reader converts, and
// hand-built corrupt files that must give a FileError naming file and problem.

import Foundation
import Records
@testable import Records
import TestSupport
import XCTest


/// Asserts that `expression` throws a `FileError` for `path` whose problem mentions `expected`.
func assertThrowsFileError<T>(_ expression: @autoclosure () throws -> T, path: String, mentioning expected: String,
                              file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertThrowsError(try expression(), file: file, line: line) { error in
        guard let e = error as? FileError else { return XCTFail("not a FileError: \(error)", file: file, line: line) }
        XCTAssertEqual(e.path, path, file: file, line: line)
        XCTAssertTrue(e.problem.contains(expected), "“\(e.problem)” does not mention “\(expected)”", file: file, line: line)
    }
}

final class SafetensorsTests: TemporaryDirectoryTestCase {
    /// A file from a header text and raw data bytes, exactly as given (no padding).
    private func file(header: String, data: [UInt8]) -> Data {
        var out = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: Array(header.utf8))
        out.append(contentsOf: data)
        return out
    }

    private func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        values.flatMap { v in withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    }

    private func assertFileError(_ data: Data, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        assertThrowsFileError(try Safetensors.decode(data, path: "/x/model.safetensors"), path: "/x/model.safetensors",
                              mentioning: expected, file: file, line: line)
    }

    // MARK: Round trip

    func testRoundTripKeepsValuesOrderShapesAndMetadata() throws {
        var rng = SeededGenerator(seed: 7)
        let a = Tensor.normal(shape: [2, 3, 4, 5], using: &rng)
        let b = Tensor(shape: [3], values: [.infinity, -0.0, .greatestFiniteMagnitude])
        let scalar = Tensor(shape: [], values: [42])
        let empty = Tensor(shape: [0, 4])
        // A view into a larger buffer must write only its own elements.
        let flat = Tensor(shape: [10], values: (0..<10).map(Float.init))
        let view = Tensor(viewing: flat.storage, offset: 3, shape: [2, 2])
        let tensors: [(name: String, tensor: Tensor)] = [
            ("z.last", a), ("a.first", b), ("scalar", scalar), ("empty", empty), ("view", view),
        ]
        let metadata = ["version": "1", "quote\"and\\slash": "line\nbreak\ttab \u{1} é 🙂", "architecture": #"{"width":4}"#]
        let url = dir.appendingPathComponent("model.safetensors")
        try Safetensors.write(tensors, metadata: metadata, to: url)

        let loaded = try Safetensors.read(url)
        XCTAssertEqual(loaded.order, ["z.last", "a.first", "scalar", "empty", "view"])
        XCTAssertEqual(loaded.metadata, metadata)
        for (name, tensor) in tensors {
            let t = try XCTUnwrap(loaded.tensors[name])
            XCTAssertEqual(t.shape, tensor.shape, name)
            XCTAssertEqual(t.array.map(\.bitPattern), tensor.array.map(\.bitPattern), name)
        }
        XCTAssertEqual(loaded.tensors["view"]?.array, [3, 4, 5, 6])

        // Header padded so the data starts 8-byte aligned; nothing left beside the file.
        let bytes = try Data(contentsOf: url)
        let headerLength = bytes.prefix(8).reversed().reduce(0) { $0 << 8 | Int($1) }
        XCTAssertEqual(headerLength % 8, 0)
        XCTAssertEqual(bytes.count, 8 + headerLength + 4 * (a.count + 3 + 1 + 0 + 4))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["model.safetensors"])
    }

    func testWriteWithoutMetadataAndOverwrite() throws {
        let url = dir.appendingPathComponent("sub/dir/w.safetensors")
        try Safetensors.write([("w", Tensor(shape: [2], values: [1, 2]))], metadata: [:], to: url)
        try Safetensors.write([("w", Tensor(shape: [1], values: [3]))], metadata: [:], to: url)
        let loaded = try Safetensors.read(url)
        XCTAssertEqual(loaded.metadata, [:])
        XCTAssertEqual(loaded.tensors["w"]?.array, [3])
    }

    func testWriteRejectsDuplicateAndReservedNames() {
        let t = Tensor(shape: [1])
        XCTAssertThrowsError(try Safetensors.encode([("a", t), ("a", t)], metadata: [:], path: "p")) {
            XCTAssertTrue(($0 as? FileError)?.problem.contains("duplicate") ?? false)
        }
        XCTAssertThrowsError(try Safetensors.encode([("__metadata__", t)], metadata: [:], path: "p"))
    }

    // MARK: Element types

    func testConvertsEveryElementType() throws {
        // Offsets tile the data in the listed order.
        var data: [UInt8] = []
        var header: [String] = []
        func add(_ name: String, _ dtype: String, _ shape: [Int], _ bytes: [UInt8]) {
            header.append("\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":[\(data.count),\(data.count + bytes.count)]}")
            data += bytes
        }
        add("f64", "F64", [3], littleEndianBytes([0.1, -2.5, 1e30].map { ($0 as Double).bitPattern }))
        // binary16: 1, −2, 0.5, smallest subnormal 2^-24, largest 65504, +∞, −0
        add("f16", "F16", [7], littleEndianBytes([0x3C00, 0xC000, 0x3800, 0x0001, 0x7BFF, 0x7C00, 0x8000] as [UInt16]))
        // bfloat16 is the top half of a Float32: 1, −3.5, 2^-128 (subnormal: 2^21 · 2^-149)
        add("bf16", "BF16", [3], littleEndianBytes([0x3F80, 0xC060, 0x0020] as [UInt16]))
        add("i64", "I64", [2, 2], littleEndianBytes([0, -1, 123_456_789, Int64.min]))
        add("i32", "I32", [2], littleEndianBytes([-7, Int32.max]))
        add("u8", "U8", [3], [0, 128, 255])
        add("i8", "I8", [2], [0xFF, 0x7F])
        add("bool", "BOOL", [2], [1, 0])
        let loaded = try Safetensors.decode(file(header: "{\(header.joined(separator: ","))}", data: data), path: "t")

        XCTAssertEqual(loaded.order, ["f64", "f16", "bf16", "i64", "i32", "u8", "i8", "bool"])
        XCTAssertEqual(loaded.tensors["f64"]?.array, [Float(0.1), -2.5, Float(1e30)])
        let f16 = try XCTUnwrap(loaded.tensors["f16"]?.array)
        XCTAssertEqual(Array(f16.prefix(6)), [1, -2, 0.5, 0x1p-24, 65504, .infinity])
        XCTAssertEqual(f16[6].bitPattern, (-0.0 as Float).bitPattern)
        XCTAssertEqual(loaded.tensors["bf16"]?.array, [1, -3.5, 0x1p-128])
        XCTAssertEqual(loaded.tensors["i64"]?.shape, [2, 2])
        XCTAssertEqual(loaded.tensors["i64"]?.array, [0, -1, 123_456_789, -0x1p63])
        XCTAssertEqual(loaded.tensors["i32"]?.array, [-7, Float(Int32.max)])
        XCTAssertEqual(loaded.tensors["u8"]?.array, [0, 128, 255])
        XCTAssertEqual(loaded.tensors["i8"]?.array, [-1, 127])
        XCTAssertEqual(loaded.tensors["bool"]?.array, [1, 0])
    }

    func testHalfConversionMatchesFloat16ForEveryBitPattern() {
        #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
        for bits in 0...UInt16.max {
            let expected = Float(Float16(bitPattern: bits))
            let got = Safetensors.halfToFloat(bits)
            if expected.isNaN { XCTAssertTrue(got.isNaN, "\(bits)") } else { XCTAssertEqual(got.bitPattern, expected.bitPattern, "\(bits)") }
        }
        #endif
    }

    // MARK: Corrupt and truncated files

    func testShortFile() {
        assertFileError(Data([1, 2, 3]), "shorter than the 8-byte header length")
        assertFileError(Data(), "shorter")
    }

    func testHeaderLengthBeyondFile() {
        var d = file(header: "{}", data: [])
        d[0] = 200  // declares 200 header bytes, 2 present
        assertFileError(d, "truncated")
    }

    func testAbsurdHeaderLength() {
        assertFileError(Data([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7B, 0x7D]), "header length")
    }

    func testHeaderNotJSON() {
        assertFileError(file(header: "{\"a\": [1, 2", data: []), "not valid JSON")
        assertFileError(file(header: "\u{FF}\u{FE}garbage", data: []), "not valid JSON")
        assertFileError(file(header: "[1, 2]", data: []), "not a JSON object")
    }

    func testUnknownDType() {
        assertFileError(file(header: #"{"w":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8)),
                        "unsupported dtype C64")
        assertFileError(file(header: #"{"w":{"shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), "missing dtype")
    }

    func testBadShapeOrOffsetsFields() {
        let four = [UInt8](repeating: 0, count: 4)
        assertFileError(file(header: #"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: four), "shape")
        assertFileError(file(header: #"{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#, data: four), "shape")
        assertFileError(file(header: #"{"w":{"dtype":"F32","shape":"1","data_offsets":[0,4]}}"#, data: four), "shape")
        assertFileError(file(header: #"{"w":{"dtype":"F32","shape":[true],"data_offsets":[0,4]}}"#, data: four), "shape")
        assertFileError(file(header: #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}}"#, data: four), "data_offsets")
        assertFileError(file(header: #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#, data: four), "bad data_offsets")
        assertFileError(file(header: #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}"#, data: four), "bad data_offsets")
        assertFileError(file(header: #"{"w":[1,2]}"#, data: four), "not an object")
        assertFileError(file(header: #"{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}"#, data: four), "too large")
    }

    func testOffsetsOutOfRange() {
        assertFileError(file(header: #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: [0, 0, 0, 0]), "truncated")
        assertFileError(file(header: #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#, data: [UInt8](repeating: 0, count: 8)), "truncated")
    }

    func testOffsetsNotMatchingShape() {
        assertFileError(file(header: #"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8)),
                        "needs 12")
        assertFileError(file(header: #"{"w":{"dtype":"F64","shape":[1],"data_offsets":[0,4]}}"#, data: [UInt8](repeating: 0, count: 4)),
                        "needs 8")
    }

    func testOverlappingTensors() {
        let h = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        assertFileError(file(header: h, data: [UInt8](repeating: 0, count: 12)), "overlap")
    }

    func testHolesAndTrailingBytes() {
        let hole = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#
        assertFileError(file(header: hole, data: [UInt8](repeating: 0, count: 12)), "unused data bytes")
        let trailing = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#
        assertFileError(file(header: trailing, data: [UInt8](repeating: 0, count: 6)), "2 bytes after the last tensor")
    }

    func testMetadataMustBeStrings() {
        assertFileError(file(header: #"{"__metadata__":{"epoch":3}}"#, data: []), "not a string")
        assertFileError(file(header: #"{"__metadata__":[1]}"#, data: []), "__metadata__ is not an object")
    }

    func testTruncatedRealFileAndMissingFile() throws {
        let url = dir.appendingPathComponent("cut.safetensors")
        try Safetensors.write([("a", Tensor(shape: [4], value: 1)), ("b", Tensor(shape: [3], value: 2))], metadata: ["k": "v"], to: url)
        let whole = try Data(contentsOf: url)
        for cut in [1, 4, 13, whole.count - 9, whole.count - 20] {
            XCTAssertThrowsError(try Safetensors.decode(whole.prefix(whole.count - cut), path: url.path), "cut \(cut)") { error in
                XCTAssertEqual((error as? FileError)?.path, url.path)
            }
        }
        // Every prefix fails cleanly (no crash) and only the whole file decodes.
        for n in 0..<whole.count {
            XCTAssertThrowsError(try Safetensors.decode(whole.prefix(n), path: "p"))
        }
        XCTAssertNoThrow(try Safetensors.decode(whole, path: "p"))

        let missing = dir.appendingPathComponent("missing.safetensors")
        XCTAssertThrowsError(try Safetensors.read(missing)) { error in
            XCTAssertEqual(error as? FileError, FileError(missing, "no such file"))
        }
    }

    func testEmptyHeaderObjectIsAnEmptyFile() throws {
        let loaded = try Safetensors.decode(file(header: "{}      ", data: []), path: "p")
        XCTAssertTrue(loaded.tensors.isEmpty)
        XCTAssertEqual(loaded.order, [])
    }
}
