// IDX and gzip tests: hand-built files (plain and gzipped), rejections, and the
// real Fashion-MNIST test labels (10000 labels, 1000 per class).

import Foundation
@testable import Imaging
import Records
import TestSupport
import XCTest

let fashionMNIST = URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist")

final class IDXTests: TemporaryDirectoryTestCase {
    /// 2 images of 2×3, written byte by byte.
    private let handBuilt = Data([0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3,
                                  1, 2, 3, 4, 5, 6, 250, 251, 252, 253, 254, 255])

    private func assertRejected(_ data: Data, _ fragment: String, line: UInt = #line) throws {
        let url = dir.appendingPathComponent("bad-\(UUID())")
        try data.write(to: url)
        assertFileError(try IDX.read(url), names: url.lastPathComponent, fragment, line: line)
    }

    func testPlainAndGzippedHandBuiltFiles() throws {
        let plain = dir.appendingPathComponent("a-idx3-ubyte")
        let gz = dir.appendingPathComponent("a-idx3-ubyte.gz")
        try handBuilt.write(to: plain)
        try Gzip.compress(handBuilt).write(to: gz)
        for url in [plain, gz] {
            let a = try IDX.read(url)
            XCTAssertEqual(a.shape, [2, 2, 3])
            XCTAssertEqual(a.values, [1, 2, 3, 4, 5, 6, 250, 251, 252, 253, 254, 255])
        }
        XCTAssertEqual(IDX.encode(try IDX.read(gz)), handBuilt)
        let labels = Data([0, 0, 8, 1, 0, 0, 0, 3, 7, 0, 9])
        XCTAssertEqual(try IDX.decode(labels, path: "l").values, [7, 0, 9])
    }

    func testRejections() throws {
        try assertRejected(Data([0x1F]), "too short")
        try assertRejected(Data([0x50, 0x4B, 3, 4, 0, 0, 0, 0]), "not an IDX file")
        var floats = handBuilt; floats[2] = 0x0D
        try assertRejected(floats, "float32")
        var rank = handBuilt; rank[3] = 9
        try assertRejected(rank, "rank")
        try assertRejected(handBuilt.prefix(12), "header is truncated")
        try assertRejected(handBuilt.prefix(handBuilt.count - 1), "(truncated)")
        try assertRejected(handBuilt + Data([0]), "needs 28")
        // gzip: truncated stream, corrupt stream, and a bomb whose header promises 3 bytes.
        let gz = Gzip.compress(handBuilt)
        try assertRejected(gz.prefix(gz.count - 12), "truncated")
        var corrupt = gz; corrupt[12] ^= 0xFF; corrupt[13] ^= 0xFF
        XCTAssertThrowsError(try IDX.read({ let u = dir.appendingPathComponent("c.gz"); try! corrupt.write(to: u); return u }()))
        let bomb = Gzip.compress(Data([0, 0, 8, 1, 0, 0, 0, 3]) + Data(repeating: 0, count: 5_000_000))
        try assertRejected(bomb, "decompresses to more than")
        try assertRejected(Gzip.compress(Data([0, 0, 9, 1, 0, 0, 0, 1, 5])), "signed byte")
    }

    func testGzipLimitsAndPrefix() throws {
        let payload = Data((0..<100_000).map { UInt8($0 % 251) })
        let gz = Gzip.compress(payload)
        XCTAssertTrue(Gzip.isGzip(gz))
        XCTAssertEqual(try Gzip.inflate(gz, path: "p", limit: payload.count), payload)
        XCTAssertThrowsError(try Gzip.inflate(gz, path: "p", limit: payload.count - 1))
        XCTAssertEqual(try Gzip.inflatePrefix(gz, path: "p", count: 10), payload.prefix(10))
        XCTAssertThrowsError(try Gzip.inflate(Data(), path: "p", limit: 10))
    }

    func testFashionMNISTTestLabels() throws {
        let url = fashionMNIST.appendingPathComponent("t10k-labels-idx1-ubyte.gz")
        guard FileManager.default.fileExists(atPath: url.path) else { throw XCTSkip("Fashion-MNIST not installed") }
        let labels = try IDX.read(url)
        XCTAssertEqual(labels.shape, [10000])
        var counts = [Int](repeating: 0, count: 256)
        for l in labels.values { counts[Int(l)] += 1 }
        XCTAssertEqual(Array(counts[0..<10]), Array(repeating: 1000, count: 10))
        XCTAssertEqual(counts[10...].reduce(0, +), 0)
    }
}
