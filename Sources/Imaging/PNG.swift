// PNG reading and writing through libpng, with exact 8- and 16-bit samples.
// All libpng calls (and its longjmp error handling) live in C in CPNG/shim.h;
// this file only moves samples between Swift arrays and those functions.

import CPNG
import Foundation
import Records

/// A decoded PNG: samples row-major, channels interleaved (grey, grey+alpha, RGB or RGBA).
/// 8-bit images hold values 0…255, 16-bit images 0…65535.
public struct PNGImage: Equatable, Sendable {
    public var width: Int
    public var height: Int
    /// 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA.
    public var channels: Int
    /// 8 or 16 (palette and 1/2/4-bit grey files are expanded to 8).
    public var bitDepth: Int
    /// width·height·channels values, row-major, interleaved.
    public var samples: [UInt16]

    public init(width: Int, height: Int, channels: Int, bitDepth: Int, samples: [UInt16]) {
        precondition(samples.count == width * height * channels, "PNGImage: \(samples.count) samples for \(width)×\(height)×\(channels)")
        self.width = width
        self.height = height
        self.channels = channels
        self.bitDepth = bitDepth
        self.samples = samples
    }

    /// Largest sample value at this bit depth (255 or 65535).
    public var maxValue: Int { bitDepth == 16 ? 65535 : 255 }

    /// The image as grey intensities in [0, 1], row-major (width·height values).
    /// Colour is reduced with Rec. 601 luma weights (0.299 R + 0.587 G + 0.114 B);
    /// alpha is ignored.
    public func grayscale() -> [Float] {
        let scale = 1 / Float(maxValue)
        let n = width * height
        switch channels {
        case 1: return samples.map { Float($0) * scale }
        case 2: return (0..<n).map { Float(samples[2 * $0]) * scale }
        default:
            return (0..<n).map { i in
                let p = i * channels
                return (0.299 * Float(samples[p]) + 0.587 * Float(samples[p + 1]) + 0.114 * Float(samples[p + 2])) * scale
            }
        }
    }
}

public enum PNG {
    /// Decodes a PNG file held in memory. `path` names the file in errors.
    /// Corrupt, truncated or non-PNG data throws `FileError`.
    public static func decode(_ data: Data, path: String) throws -> PNGImage {
        try checkDeclaredSize(data, path: path)
        var result = anogan_png_decoded()
        let status = data.withUnsafeBytes { raw -> Int32 in
            guard let base = raw.bindMemory(to: UInt8.self).baseAddress else {
                return anogan_png_decode(nil, 0, &result)
            }
            return anogan_png_decode(base, raw.count, &result)
        }
        guard status == 0 else {
            let message = withUnsafeBytes(of: result.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            throw FileError(path, "cannot read PNG: \(message)")
        }
        defer { anogan_png_free(result.samples) }
        let count = Int(result.width) * Int(result.height) * Int(result.channels)
        let samples = Array(UnsafeBufferPointer(start: result.samples, count: count))
        return PNGImage(width: Int(result.width), height: Int(result.height), channels: Int(result.channels),
                        bitDepth: Int(result.bit_depth), samples: samples)
    }

    /// Refuses, before libpng allocates anything, an image whose IHDR size exceeds
    /// `MemoryBudget`: decoding holds the rows (1 or 2 bytes a sample), the samples
    /// (2 bytes) in C and again in Swift, and callers make Float grey values (4 bytes a pixel).
    /// Files without a leading IHDR are left to libpng to reject.
    static func checkDeclaredSize(_ data: Data, path: String) throws {
        let b = [UInt8](data.prefix(26))
        guard b.count == 26, b[12...15].elementsEqual("IHDR".utf8) else { return }
        func word(_ i: Int) -> Int { Int(b[i]) << 24 | Int(b[i + 1]) << 16 | Int(b[i + 2]) << 8 | Int(b[i + 3]) }
        let width = word(16), height = word(20), depth = Int(b[24]), colourType = b[25]
        // Channels after expansion: grey 1, grey+alpha 2, RGB 3, palette (with tRNS) and RGBA 4.
        let channels = [0: 1, 4: 2, 2: 3][colourType] ?? 4
        let bytesPerPixel = channels * ((depth == 16 ? 2 : 1) + 2 + 2) + 4
        try MemoryBudget.check(MemoryBudget.product([width, height, bytesPerPixel]), for: path, "decoding the \(width)×\(height) PNG")
    }

    /// Reads and decodes a PNG file.
    public static func read(_ url: URL) throws -> PNGImage {
        try decode(readFile(url), path: url.path)
    }

    /// Encodes an image (8 or 16 bit, 1–4 channels) as PNG bytes.
    public static func encode(_ image: PNGImage) throws -> Data {
        guard image.width > 0, image.height > 0 else { throw FileError("<png>", "cannot encode an empty \(image.width)×\(image.height) image") }
        guard (1...4).contains(image.channels), image.bitDepth == 8 || image.bitDepth == 16 else {
            throw FileError("<png>", "cannot encode \(image.channels) channels at \(image.bitDepth) bits")
        }
        guard image.samples.count == image.width * image.height * image.channels else {
            throw FileError("<png>", "\(image.samples.count) samples for a \(image.width)×\(image.height)×\(image.channels) image")
        }
        if image.bitDepth == 8, let bad = image.samples.first(where: { $0 > 255 }) {
            throw FileError("<png>", "sample \(bad) does not fit 8 bits")
        }
        var result = anogan_png_encoded()
        let status = image.samples.withUnsafeBufferPointer {
            anogan_png_encode($0.baseAddress, Int32(image.width), Int32(image.height), Int32(image.channels), Int32(image.bitDepth), &result)
        }
        guard status == 0 else {
            let message = withUnsafeBytes(of: result.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            throw FileError("<png>", "cannot encode PNG: \(message)")
        }
        defer { anogan_png_free(result.bytes) }
        return Data(bytes: result.bytes, count: result.size)
    }

    /// Encodes 8-bit pixels (row-major, interleaved; channels 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA).
    public static func encode(width: Int, height: Int, channels: Int, pixels8: [UInt8]) throws -> Data {
        guard pixels8.count == width * height * channels else {
            throw FileError("<png>", "\(pixels8.count) pixels for a \(width)×\(height)×\(channels) image")
        }
        return try encode(PNGImage(width: width, height: height, channels: channels, bitDepth: 8, samples: pixels8.map(UInt16.init)))
    }

    /// Encodes a 16-bit grey image (row-major).
    public static func encode(width: Int, height: Int, gray16: [UInt16]) throws -> Data {
        guard gray16.count == width * height else {
            throw FileError("<png>", "\(gray16.count) pixels for a \(width)×\(height) image")
        }
        return try encode(PNGImage(width: width, height: height, channels: 1, bitDepth: 16, samples: gray16))
    }

    /// Writes an image atomically.
    public static func write(_ image: PNGImage, to url: URL) throws {
        try naming(url) { try encode(image) }.writeAtomically(to: url)
    }

    /// Writes 8-bit pixels atomically (see `encode(width:height:channels:pixels8:)`).
    public static func write(width: Int, height: Int, channels: Int, pixels8: [UInt8], to url: URL) throws {
        try naming(url) { try encode(width: width, height: height, channels: channels, pixels8: pixels8) }.writeAtomically(to: url)
    }

    /// Writes a 16-bit grey image atomically.
    public static func write(width: Int, height: Int, gray16: [UInt16], to url: URL) throws {
        try naming(url) { try encode(width: width, height: height, gray16: gray16) }.writeAtomically(to: url)
    }

    /// Encoding errors name no file; when writing, name the destination.
    private static func naming(_ url: URL, _ body: () throws -> Data) throws -> Data {
        do { return try body() } catch let error as FileError { throw FileError(url, error.problem) }
    }
}
