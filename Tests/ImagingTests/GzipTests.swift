// Gzip.swift: inflating streams made by Python's gzip and zlib modules (bytes
// below), the output limit, prefixes, truncated and corrupt input naming the
// file, and our compressor's gzip framing (CRC-32 and length from zlib.crc32).

import Foundation
import Imaging
import Records
import TestSupport
import XCTest

final class GzipTests: TemporaryDirectoryTestCase {
    private let text = Data("hello hello hello\n".utf8)
    /// gzip.compress(b"hello hello hello\n", mtime=0)
    private let gz = Data([0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xCB, 0x48, 0xCD, 0xC9, 0xC9, 0x57, 0xC8, 0x40,
                           0x90, 0x5C, 0x00, 0x3B, 0x7C, 0x8A, 0xDF, 0x12, 0x00, 0x00, 0x00])
    /// zlib.compress(b"abc")
    private let zlib = Data([0x78, 0x9C, 0x4B, 0x4C, 0x4A, 0x06, 0x00, 0x02, 0x4D, 0x01, 0x27])

    func testInflatesGzipAndZlibStreams() throws {
        XCTAssertTrue(Gzip.isGzip(gz))
        XCTAssertFalse(Gzip.isGzip(zlib))
        XCTAssertFalse(Gzip.isGzip(Data([0x1F])))
        XCTAssertEqual(try Gzip.inflate(gz, path: "a.gz", limit: 1000), text)
        XCTAssertEqual(try Gzip.inflate(zlib, path: "a.z", limit: 1000), Data("abc".utf8))
    }

    func testOutputLimitAndPrefix() throws {
        XCTAssertEqual(try Gzip.inflate(gz, path: "a.gz", limit: 18), text, "exactly the limit is allowed")
        assertFileError(try Gzip.inflate(gz, path: "data/a.gz", limit: 17), names: "data/a.gz", "decompresses to more than 17 bytes")
        XCTAssertEqual(try Gzip.inflatePrefix(gz, path: "a.gz", count: 5), Data("hello".utf8))
        XCTAssertEqual(try Gzip.inflatePrefix(gz, path: "a.gz", count: 100), text)
    }

    func testTruncatedAndCorruptStreamsNameTheFile() {
        assertFileError(try Gzip.inflate(gz.prefix(15), path: "cut.gz", limit: 1000), names: "cut.gz", "compressed data is truncated")
        var badBlock = gz
        badBlock[10] = 0x07   // BFINAL 1, BTYPE 11: a reserved block type
        assertFileError(try Gzip.inflate(badBlock, path: "bad.gz", limit: 1000), names: "bad.gz", "corrupt compressed data: invalid block type")
        var badCRC = gz
        badCRC[21] ^= 0xFF
        assertFileError(try Gzip.inflate(badCRC, path: "crc.gz", limit: 1000), names: "crc.gz", "corrupt compressed data: incorrect data check")
    }

    func testCompressWritesGzipFraming() throws {
        let out = [UInt8](Gzip.compress(text))
        XCTAssertEqual(Array(out.prefix(3)), [0x1F, 0x8B, 0x08], "gzip magic, deflate")
        // Trailer: CRC-32 0xdf8a7c3b and length 18, little-endian.
        XCTAssertEqual(Array(out.suffix(8)), [0x3B, 0x7C, 0x8A, 0xDF, 0x12, 0x00, 0x00, 0x00])
        XCTAssertEqual(try Gzip.inflate(Data(out), path: "x.gz", limit: 18), text)
        let big = Data((0..<100_000).map { UInt8(truncatingIfNeeded: $0 * 7 / 3) })
        XCTAssertEqual(try Gzip.inflate(Gzip.compress(big, level: 9), path: "big.gz", limit: big.count), big)
    }
}
