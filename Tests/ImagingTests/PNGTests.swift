// PNG tests: round trips through libpng, and decoding of files built byte by
// byte by a tiny independent encoder below (stored deflate blocks, our own CRC
// and Adler-32), so palette, low bit depths and 16-bit samples are checked
// against values we wrote by hand, not against libpng itself.

import Foundation
@testable import Imaging
import Records
import TestSupport
import XCTest

/// A minimal PNG writer for test fixtures: no compression, filter 0 on every row.
enum HandPNG {
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    static func adler32(_ bytes: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        for x in bytes { a = (a + UInt32(x)) % 65521; b = (b + a) % 65521 }
        return b << 16 | a
    }

    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        return be32(UInt32(data.count)) + body + be32(crc32(body))
    }

    /// `rows` are already packed scanlines (without filter bytes).
    static func file(width: Int, height: Int, bitDepth: Int, colorType: Int, rows: [[UInt8]],
                     palette: [UInt8]? = nil, transparency: [UInt8]? = nil) -> Data {
        var raw: [UInt8] = []
        for row in rows { raw.append(0); raw += row }
        var zlib: [UInt8] = [0x78, 0x01]
        var start = 0
        repeat {
            let n = min(65535, raw.count - start)
            let final: UInt8 = start + n == raw.count ? 1 : 0
            zlib += [final, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            zlib += raw[start..<start + n]
            start += n
        } while start < raw.count
        zlib += be32(adler32(raw))
        var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        out += chunk("IHDR", be32(UInt32(width)) + be32(UInt32(height)) + [UInt8(bitDepth), UInt8(colorType), 0, 0, 0])
        if let palette { out += chunk("PLTE", palette) }
        if let transparency { out += chunk("tRNS", transparency) }
        out += chunk("IDAT", zlib)
        out += chunk("IEND", [])
        return Data(out)
    }
}

final class PNGTests: TemporaryDirectoryTestCase {
    private func roundTrip(_ image: PNGImage, file: StaticString = #filePath, line: UInt = #line) throws {
        let data = try PNG.encode(image)
        let back = try PNG.decode(data, path: "mem.png")
        XCTAssertEqual(back, image, file: file, line: line)
    }

    func testRoundTripGrey8() throws {
        var rng = SystemRandomNumberGenerator()
        let samples = (0..<(7 * 5)).map { _ in UInt16.random(in: 0...255, using: &rng) }
        try roundTrip(PNGImage(width: 7, height: 5, channels: 1, bitDepth: 8, samples: samples))
        let data = try PNG.encode(width: 7, height: 5, channels: 1, pixels8: samples.map { UInt8($0) })
        XCTAssertEqual(try PNG.decode(data, path: "x").samples, samples)
    }

    func testRoundTripGrey16() throws {
        let samples: [UInt16] = [0, 1, 255, 256, 0x1234, 0xFFFF, 40000, 12345, 65534, 7, 8, 9]
        let data = try PNG.encode(width: 4, height: 3, gray16: samples)
        let back = try PNG.decode(data, path: "x")
        XCTAssertEqual(back.bitDepth, 16)
        XCTAssertEqual(back.channels, 1)
        XCTAssertEqual(back.samples, samples)
    }

    func testRoundTripColour() throws {
        var rng = SystemRandomNumberGenerator()
        for (channels, depth) in [(3, 8), (3, 16), (4, 8), (4, 16), (2, 8)] {
            let maxValue = depth == 8 ? 255 : 65535
            let samples = (0..<(6 * 3 * channels)).map { _ in UInt16(Int.random(in: 0...maxValue, using: &rng)) }
            try roundTrip(PNGImage(width: 6, height: 3, channels: channels, bitDepth: depth, samples: samples))
        }
    }

    func testWriteAndReadFile() throws {
        let url = dir.appendingPathComponent("new/a.png")
        try PNG.write(width: 2, height: 2, channels: 3, pixels8: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], to: url)
        XCTAssertEqual(try PNG.read(url).samples, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
        XCTAssertThrowsError(try PNG.read(dir.appendingPathComponent("missing.png")))
    }

    func testHandBuiltGrey16IsExact() throws {
        // 3×1, 16-bit grey: big-endian samples 0x0001, 0x1234, 0xFFFF.
        let data = HandPNG.file(width: 3, height: 1, bitDepth: 16, colorType: 0, rows: [[0x00, 0x01, 0x12, 0x34, 0xFF, 0xFF]])
        let image = try PNG.decode(data, path: "g16.png")
        XCTAssertEqual(image.bitDepth, 16)
        XCTAssertEqual(image.samples, [1, 0x1234, 0xFFFF])
    }

    func testHandBuiltRGB16IsExact() throws {
        let data = HandPNG.file(width: 1, height: 2, bitDepth: 16, colorType: 2,
                                rows: [[0, 1, 0, 2, 0, 3], [0xAB, 0xCD, 0x80, 0x00, 0xFF, 0xFE]])
        let image = try PNG.decode(data, path: "rgb16.png")
        XCTAssertEqual(image.channels, 3)
        XCTAssertEqual(image.samples, [1, 2, 3, 0xABCD, 0x8000, 0xFFFE])
    }

    func testLowBitDepthGreyIsExpandedTo8Bits() throws {
        // 2-bit grey, 5×1: 0,1,2,3,1 packed MSB first → 0b00011011, 0b01000000.
        let data = HandPNG.file(width: 5, height: 1, bitDepth: 2, colorType: 0, rows: [[0b0001_1011, 0b0100_0000]])
        let image = try PNG.decode(data, path: "g2.png")
        XCTAssertEqual(image.bitDepth, 8)
        XCTAssertEqual(image.channels, 1)
        XCTAssertEqual(image.samples, [0, 85, 170, 255, 85])
        // 1-bit: 1,0,1 → 255,0,255
        let bits = HandPNG.file(width: 3, height: 1, bitDepth: 1, colorType: 0, rows: [[0b1010_0000]])
        XCTAssertEqual(try PNG.decode(bits, path: "g1.png").samples, [255, 0, 255])
    }

    func testPaletteIsExpandedToRGBAndTransparencyToAlpha() throws {
        let palette: [UInt8] = [10, 20, 30, 40, 50, 60, 70, 80, 90]
        let rows: [[UInt8]] = [[2, 0], [1, 1]]
        let rgb = try PNG.decode(HandPNG.file(width: 2, height: 2, bitDepth: 8, colorType: 3, rows: rows, palette: palette), path: "p.png")
        XCTAssertEqual(rgb.channels, 3)
        XCTAssertEqual(rgb.samples, [70, 80, 90, 10, 20, 30, 40, 50, 60, 40, 50, 60])
        let rgba = try PNG.decode(HandPNG.file(width: 2, height: 2, bitDepth: 8, colorType: 3, rows: rows,
                                               palette: palette, transparency: [0, 128]), path: "p.png")
        XCTAssertEqual(rgba.channels, 4)
        XCTAssertEqual(rgba.samples, [70, 80, 90, 255, 10, 20, 30, 0, 40, 50, 60, 128, 40, 50, 60, 128])
        // 4-bit palette indices 2,1 / 0,2
        let four = try PNG.decode(HandPNG.file(width: 2, height: 2, bitDepth: 4, colorType: 3, rows: [[0x21], [0x02]], palette: palette), path: "p4.png")
        XCTAssertEqual(four.samples, [70, 80, 90, 40, 50, 60, 10, 20, 30, 70, 80, 90])
    }

    func testGreyscaleConversion() {
        let rgb = PNGImage(width: 2, height: 1, channels: 3, bitDepth: 8, samples: [255, 0, 0, 0, 0, 255])
        let g = rgb.grayscale()
        XCTAssertEqual(g[0], 0.299, accuracy: 1e-6)
        XCTAssertEqual(g[1], 0.114, accuracy: 1e-6)
        let g16 = PNGImage(width: 2, height: 1, channels: 1, bitDepth: 16, samples: [65535, 32768]).grayscale()
        XCTAssertEqual(g16[0], 1)
        XCTAssertEqual(g16[1], 32768 / 65535, accuracy: 1e-7)
    }

    func testCorruptInputIsRejected() throws {
        let good = try PNG.encode(width: 4, height: 4, channels: 1, pixels8: (0..<16).map { UInt8($0 * 16) })
        XCTAssertNoThrow(try PNG.decode(good, path: "good.png"))
        for bad in [Data(), Data("not a png at all".utf8), Data(good.prefix(8))] {
            XCTAssertThrowsError(try PNG.decode(bad, path: "bad.png")) { error in
                XCTAssertTrue("\(error)".hasPrefix("bad.png: "), "\(error)")
            }
        }
        // Every truncation must throw, never crash.
        for n in 0..<good.count {
            XCTAssertThrowsError(try PNG.decode(good.prefix(n), path: "cut.png"), "prefix \(n)")
        }
        // Flipping any byte after the signature breaks a CRC (or the structure): must throw.
        var flippedCount = 0
        for i in 8..<good.count {
            var bytes = [UInt8](good)
            bytes[i] ^= 0x5A
            if (try? PNG.decode(Data(bytes), path: "flip.png")) == nil { flippedCount += 1 }
        }
        XCTAssertEqual(flippedCount, good.count - 8)
        // A hand-built file whose IDAT holds too few rows.
        let short = HandPNG.file(width: 3, height: 4, bitDepth: 8, colorType: 0, rows: [[1, 2, 3]])
        XCTAssertThrowsError(try PNG.decode(short, path: "short.png"))
        // A header promising 12000×12000 RGBA16 (1.2 GB) in a tiny file is refused before allocating.
        let huge = HandPNG.file(width: 12000, height: 12000, bitDepth: 16, colorType: 6, rows: [[0, 0, 0, 0, 0, 0, 0, 0]])
        XCTAssertThrowsError(try PNG.decode(huge, path: "huge.png")) { XCTAssertTrue("\($0)".contains("larger than the file"), "\($0)") }
    }

    func testRandomMutationsNeverCrash() throws {
        var rng = SeededGenerator(seed: 11)
        let samples = (0..<(16 * 16 * 3)).map { _ in UInt16(rng.index(below: 65536)) }
        let good = try PNG.encode(PNGImage(width: 16, height: 16, channels: 3, bitDepth: 16, samples: samples))
        var rejected = 0
        for _ in 0..<300 {
            var bytes = [UInt8](good)
            for _ in 0..<(1 + rng.index(below: 4)) { bytes[rng.index(below: bytes.count)] = UInt8(rng.index(below: 256)) }
            if let image = try? PNG.decode(Data(bytes), path: "fuzz.png") {
                XCTAssertEqual(image.samples.count, image.width * image.height * image.channels)
            } else {
                rejected += 1
            }
        }
        XCTAssertGreaterThan(rejected, 250)  // a changed byte almost always breaks a CRC
    }

    func testEncodeRejectsBadLayout() {
        XCTAssertThrowsError(try PNG.encode(width: 2, height: 2, channels: 1, pixels8: [1, 2, 3]))
        XCTAssertThrowsError(try PNG.encode(PNGImage(width: 1, height: 1, channels: 1, bitDepth: 8, samples: [300])))
        XCTAssertThrowsError(try PNG.encode(PNGImage(width: 0, height: 0, channels: 1, bitDepth: 8, samples: [])))
    }
}
