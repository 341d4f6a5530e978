// .npy: round trips, files written by numpy itself (Fixtures/, made by
// scripts/make_fixtures.py), and corrupt or truncated inputs.

import Foundation
import Records
@testable import Records
import TestSupport
import XCTest


final class NPYTests: TemporaryDirectoryTestCase {
    private func fixture(_ name: String) throws -> URL {
        try XCTUnwrap(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures"), "missing fixture \(name)")
    }

    private func assertFileError(_ data: Data, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        assertThrowsFileError(try NPY.decode(data, path: "/x/a.npy"), path: "/x/a.npy", mentioning: expected, file: file, line: line)
    }

    // MARK: Round trips

    func testFloat32TensorRoundTripThroughFile() throws {
        var rng = SeededGenerator(seed: 3)
        let t = Tensor.normal(shape: [2, 1, 3, 5], using: &rng)
        t[0] = .nan
        t[1] = -.infinity
        let url = dir.appendingPathComponent("new/t.npy")
        try NPY.write(t, to: url)
        let back = try NPY.readTensor(url)
        XCTAssertEqual(back.shape, t.shape)
        XCTAssertEqual(back.array.map(\.bitPattern), t.array.map(\.bitPattern))

        // The header is padded to a multiple of 64 bytes and ends in a newline.
        let bytes = [UInt8](try Data(contentsOf: url))
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        XCTAssertEqual((10 + headerLength) % 64, 0)
        XCTAssertEqual(bytes[10 + headerLength - 1], 0x0A)
        XCTAssertEqual(bytes.count, 10 + headerLength + 4 * t.count)
    }

    func testInt64AndUInt8RoundTrip() throws {
        let labels: [Int64] = [0, 1, -1, .max, .min]
        let a = try NPY.decode(NPY.encode(NPYArray(int64: labels, shape: [5])), path: "l")
        XCTAssertEqual(a.type, .int64)
        XCTAssertEqual(a.shape, [5])
        XCTAssertEqual(a.payload.withUnsafeBytes { raw in (0..<5).map { raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self) } }, labels)

        let mask: [UInt8] = [0, 1, 255, 7, 0, 0]
        let m = try NPY.decode(NPY.encode(NPYArray(uint8: mask, shape: [1, 2, 3])), path: "m")
        XCTAssertEqual(m.type, .uint8)
        XCTAssertEqual(m.shape, [1, 2, 3])
        XCTAssertEqual([UInt8](m.payload), mask)
        XCTAssertEqual(m.floats(), [0, 1, 255, 7, 0, 0])
    }

    func testEmptyAndScalarShapes() throws {
        let empty = try NPY.decode(NPY.encode(NPYArray(Tensor(shape: [0, 3]))), path: "e")
        XCTAssertEqual(empty.shape, [0, 3])
        XCTAssertEqual(empty.floats(), [])
        let scalar = try NPY.decode(NPY.encode(NPYArray(Tensor(shape: [], values: [2.5]))), path: "s")
        XCTAssertEqual(scalar.shape, [])
        XCTAssertEqual(scalar.floats(), [2.5])
    }

    // MARK: Files written by numpy

    func testReadsNumpyFloat32() throws {
        let t = try NPY.readTensor(fixture("float32_2x3.npy"))
        XCTAssertEqual(t.shape, [2, 3])
        XCTAssertEqual(t.array, [1.5, -2.25, 0, 3.0e-8, 65504, -1.0e10])
    }

    func testReadsNumpyInt64UInt8Float64AndScalar() throws {
        let labels = try NPY.read(fixture("int64_5.npy"))
        XCTAssertEqual(labels.type, .int64)
        XCTAssertEqual(labels.floats(), [0, 1, -1, 7, 123_456_789])

        let bytes = try NPY.read(fixture("uint8_2x2x2.npy"))
        XCTAssertEqual(bytes.type, .uint8)
        XCTAssertEqual(bytes.shape, [2, 2, 2])
        XCTAssertEqual([UInt8](bytes.payload), [0, 32, 64, 96, 128, 160, 192, 224])

        let doubles = try NPY.readTensor(fixture("float64_3.npy"))
        XCTAssertEqual(doubles.array, [Float(0.1), -2.5, Float(1e30)])

        let scalar = try NPY.readTensor(fixture("float32_scalar.npy"))
        XCTAssertEqual(scalar.shape, [])
        XCTAssertEqual(scalar.array, [4.5])
    }

    func testReadsNumpyVersion2() throws {
        let t = try NPY.readTensor(fixture("float32_v2_2x2.npy"))
        XCTAssertEqual(t.shape, [2, 2])
        XCTAssertEqual(t.array, [1, 2, 3, 4])
    }

    func testRejectsFortranOrderAndBigEndian() throws {
        XCTAssertThrowsError(try NPY.read(fixture("float32_fortran_2x3.npy"))) {
            XCTAssertTrue(($0 as? FileError)?.problem.contains("Fortran") ?? false, "\($0)")
        }
        XCTAssertThrowsError(try NPY.read(fixture("float32_bigendian_2.npy"))) {
            XCTAssertTrue(($0 as? FileError)?.problem.contains("element type") ?? false, "\($0)")
        }
    }

    func testOurFileMatchesNumpyBytes() throws {
        // numpy's own encoding of the same array, byte for byte.
        let ours = NPY.encode(NPYArray(Tensor(shape: [2, 3], values: [1.5, -2.25, 0, 3.0e-8, 65504, -1.0e10])))
        XCTAssertEqual(ours, try Data(contentsOf: fixture("float32_2x3.npy")))
    }

    // MARK: Corrupt and truncated

    func testCorruptInputs() throws {
        let good = NPY.encode(NPYArray(Tensor(shape: [2, 2], values: [1, 2, 3, 4])))
        assertFileError(Data(), "bad magic")
        assertFileError(Data("hello world, not npy".utf8), "bad magic")
        assertFileError(good.prefix(9), "bad magic")
        assertFileError(good.prefix(40), "truncated .npy header")
        assertFileError(good.prefix(good.count - 1), "truncated")
        assertFileError(good + Data([0]), "payload is 17 bytes")

        var version4 = good
        version4[6] = 4
        assertFileError(version4, "unsupported .npy version 4")

        func withHeader(_ text: String, payload: Int = 16) -> Data {
            var h = text
            h += String(repeating: " ", count: (64 - (10 + h.utf8.count + 1) % 64) % 64) + "\n"
            var d = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(h.utf8.count & 0xFF), UInt8(h.utf8.count >> 8)])
            d.append(contentsOf: Array(h.utf8))
            d.append(Data(count: payload))
            return d
        }
        assertFileError(withHeader("{'descr': '<f4', 'fortran_order': False, }"), "no shape")
        assertFileError(withHeader("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }"), "element type")
        assertFileError(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }"), "bad .npy shape")
        assertFileError(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (-2, -2), }"), "bad .npy shape")
        assertFileError(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }"),
                        "bad .npy shape")
        // Elements fit in Int but bytes do not: 2^61 float32 values.
        assertFileError(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2305843009213693952,), }"), "bad .npy shape")
        XCTAssertNoThrow(try NPY.decode(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }"), path: "ok"))
    }

    func testEveryPrefixOfAFileFailsCleanly() {
        let good = NPY.encode(NPYArray(Tensor(shape: [3], values: [1, 2, 3])))
        for n in 0..<good.count {
            XCTAssertThrowsError(try NPY.decode(good.prefix(n), path: "p"))
        }
    }

    func testMissingFile() {
        let url = URL(fileURLWithPath: "/nonexistent/dir/a.npy")
        XCTAssertThrowsError(try NPY.read(url)) { XCTAssertEqual($0 as? FileError, FileError(url, "no such file")) }
    }
}
