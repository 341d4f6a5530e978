// MetaImage tests: round trips through our writer, headers and raw bytes written
// by hand (byte order, HeaderSize, 2-D, compressed), and rejected bad files.

import Foundation
@testable import Imaging
import Records
import TestSupport
import XCTest

final class MetaImageTests: TemporaryDirectoryTestCase {
    private func url(_ name: String) -> URL { dir.appendingPathComponent(name) }

    private func header(_ lines: [String]) -> Data { Data((lines.joined(separator: "\n") + "\n").utf8) }

    /// Reading `name` must fail naming `file` (default: `name` itself).
    private func assertRejected(_ name: String, _ fragment: String, names file: String? = nil, line: UInt = #line) {
        assertFileError(try MetaImage.read(url(name)), names: file ?? name, fragment, line: line)
    }

    func testRoundTripEveryType() throws {
        let w = 5, h = 3, d = 2
        for type in MetaImageElementType.allCases {
            let values: [Float] = (0..<(w * h * d)).map { i in
                switch type {
                case .uchar: Float(i * 8)
                case .char: Float(i * 4 - 60)
                case .ushort: Float(i * 2000)
                case .short: Float(i * 1000 - 15000)
                case .uint, .int: Float(i * 100_000)
                case .float, .double: Float(i) * 0.37 - 3
                }
            }
            let volume = Volume(width: w, height: h, depth: d, spacing: SIMD3(0.011, 0.0039, 0.12), voxels: values)
            for ext in ["mhd", "mha"] {
                let file = url("v-\(type.rawValue).\(ext)")
                try MetaImage.write(volume, to: file, elementType: type)
                XCTAssertEqual(try MetaImage.read(file), volume, "\(type) \(ext)")
            }
            let rawSize = try FileManager.default.attributesOfItem(atPath: url("v-\(type.rawValue).raw").path)[.size] as? Int
            XCTAssertEqual(rawSize, w * h * d * type.size)
        }
    }

    func testHandWrittenBigEndianUShortWithHeaderSize() throws {
        try header(["ObjectType = Image", "NDims = 3", "DimSize = 2 1 2", "ElementSpacing = 0.5 0.25 2",
                    "BinaryDataByteOrderMSB = True", "HeaderSize = 3", "ElementType = MET_USHORT", "ElementDataFile = data.bin"])
            .write(to: url("a.mhd"))
        try Data([9, 9, 9, 0x01, 0x02, 0x00, 0x03, 0xFF, 0xFF, 0x80, 0x00]).write(to: url("data.bin"))
        let v = try MetaImage.read(url("a.mhd"))
        XCTAssertEqual([v.width, v.height, v.depth], [2, 1, 2])
        XCTAssertEqual(v.spacing, SIMD3(0.5, 0.25, 2))
        XCTAssertEqual(v.voxels, [258, 3, 65535, 32768])
        XCTAssertEqual(v[1, 0, 1], 32768)
    }

    func testHeaderSizeMinusOneTakesTheTail() throws {
        try header(["NDims = 2", "DimSize = 2 2", "ElementType = MET_SHORT", "HeaderSize = -1", "ElementDataFile = t.raw"]).write(to: url("t.mhd"))
        var bytes: [UInt8] = [1, 2, 3, 4, 5]
        for v: Int16 in [-2, 7, 300, -32768] { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        try Data(bytes).write(to: url("t.raw"))
        let v = try MetaImage.read(url("t.mhd"))
        XCTAssertEqual(v.depth, 1)
        XCTAssertEqual(v.voxels, [-2, 7, 300, -32768])
    }

    func testInlineAndCompressedData() throws {
        var file = header(["ObjectType = Image", "NDims = 3", "DimSize = 3 1 1", "ElementType = MET_UCHAR",
                           "CompressedData = True", "ElementDataFile = LOCAL"])
        file.append(Gzip.compress(Data([10, 20, 250])))
        try file.write(to: url("c.mha"))
        XCTAssertEqual(try MetaImage.read(url("c.mha")).voxels, [10, 20, 250])
        // Compressed data that expands past DimSize is rejected (no decompression bomb).
        var big = header(["NDims = 3", "DimSize = 3 1 1", "ElementType = MET_UCHAR", "CompressedData = True", "ElementDataFile = LOCAL"])
        big.append(Gzip.compress(Data(repeating: 0, count: 1_000_000)))
        try big.write(to: url("bomb.mha"))
        assertRejected("bomb.mha", "more than 3 bytes")
    }

    func testRejections() throws {
        let base = ["ObjectType = Image", "NDims = 3", "DimSize = 2 2 2", "ElementType = MET_UCHAR"]
        assertRejected("nothing.mhd", "no such file")

        try header(base + ["ElementDataFile = missing.raw"]).write(to: url("missing.mhd"))
        assertRejected("missing.mhd", "does not exist")

        try header(base + ["ElementDataFile = short.raw"]).write(to: url("short.mhd"))
        try Data(repeating: 1, count: 7).write(to: url("short.raw"))
        assertRejected("short.mhd", "needs 8 (truncated)", names: "short.raw")
        try Data(repeating: 1, count: 9).write(to: url("short.raw"))
        assertRejected("short.mhd", "data is 9 bytes", names: "short.raw")

        try header(["NDims = 3", "DimSize = 2 2 2", "ElementType = MET_UCHAR_ARRAY", "ElementDataFile = short.raw"]).write(to: url("type.mhd"))
        assertRejected("type.mhd", "unsupported ElementType")
        try header(["NDims = 3", "DimSize = 2 2 2", "ElementType = MET_UCHAR", "ElementNumberOfChannels = 3", "ElementDataFile = short.raw"]).write(to: url("rgb.mhd"))
        assertRejected("rgb.mhd", "channels")
        try header(["NDims = 3", "DimSize = 2 x 2", "ElementType = MET_UCHAR", "ElementDataFile = short.raw"]).write(to: url("dims.mhd"))
        assertRejected("dims.mhd", "DimSize")
        try header(["NDims = 2", "DimSize = 2 2 2", "ElementType = MET_UCHAR", "ElementDataFile = short.raw"]).write(to: url("ndims.mhd"))
        assertRejected("ndims.mhd", "NDims")
        try header(base).write(to: url("nodata.mhd"))
        assertRejected("nodata.mhd", "no ElementDataFile")
        try header(["DimSize = 2 2 2", "ElementDataFile = short.raw"]).write(to: url("notype.mhd"))
        assertRejected("notype.mhd", "no ElementType")
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0xFF, 0xFE]).write(to: url("png.mhd"))
        assertRejected("png.mhd", "not")

        var nan = header(["NDims = 3", "DimSize = 1 1 1", "ElementType = MET_FLOAT", "ElementDataFile = LOCAL"])
        withUnsafeBytes(of: Float.nan.bitPattern.littleEndian) { nan.append(contentsOf: $0) }
        try nan.write(to: url("nan.mha"))
        assertRejected("nan.mha", "not finite")
    }

    func testWriteRejectsValuesTheTypeCannotHold() {
        let v = Volume(width: 2, height: 1, depth: 1, voxels: [3, 256])
        XCTAssertThrowsError(try MetaImage.write(v, to: url("x.mhd"), elementType: .uchar))
        XCTAssertNoThrow(try MetaImage.write(v, to: url("x.mhd"), elementType: .ushort))
        XCTAssertThrowsError(try MetaImage.write(Volume(width: 1, height: 1, depth: 1, voxels: [.nan]), to: url("n.mhd")))
    }
}
