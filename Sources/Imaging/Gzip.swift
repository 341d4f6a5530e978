// gzip / zlib streams through zlib: inflating with a hard output limit (a
// small corrupt or malicious .gz must not expand into gigabytes) and deflating
// to gzip (for test fixtures and compressed outputs).

import CPNG
import Foundation
import Records

public enum Gzip {
    /// True when `data` starts with the gzip magic bytes 1f 8b.
    public static func isGzip(_ data: Data) -> Bool {
        data.count >= 2 && data[data.startIndex] == 0x1F && data[data.startIndex + 1] == 0x8B
    }

    /// Inflates a whole gzip or zlib stream (detected from its header).
    /// Throws `FileError` naming `path` when the stream is corrupt or truncated,
    /// or when it would decompress to more than `limit` bytes.
    public static func inflate(_ data: Data, path: String, limit: Int) throws -> Data {
        try run(data, path: path, limit: limit, prefixOnly: false)
    }

    /// The first `count` decompressed bytes (fewer if the stream is shorter);
    /// used to read a header before deciding how much output to allow.
    public static func inflatePrefix(_ data: Data, path: String, count: Int) throws -> Data {
        try run(data, path: path, limit: count, prefixOnly: true)
    }

    private static func run(_ data: Data, path: String, limit: Int, prefixOnly: Bool) throws -> Data {
        var stream = z_stream()
        guard anogan_inflate_init_gzip(&stream) == Z_OK else { throw FileError(path, "cannot initialise zlib") }
        defer { inflateEnd(&stream) }
        var output = Data()
        let chunkSize = 1 << 16
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        let input = [UInt8](data)
        return try input.withUnsafeBufferPointer { inBuffer -> Data in
            stream.next_in = UnsafeMutablePointer(mutating: inBuffer.baseAddress)
            stream.avail_in = uInt(inBuffer.count)
            while true {
                // Ask for at most one byte past the limit: enough to detect an overrun.
                let want = min(chunkSize, limit - output.count + 1)
                let status = chunk.withUnsafeMutableBufferPointer { out -> Int32 in
                    stream.next_out = out.baseAddress
                    stream.avail_out = uInt(want)
                    return CPNG.inflate(&stream, Z_NO_FLUSH)
                }
                let produced = want - Int(stream.avail_out)
                output.append(contentsOf: chunk[0..<produced])
                if output.count > limit {
                    if prefixOnly { return output.prefix(limit) }
                    throw FileError(path, "decompresses to more than \(limit) bytes (corrupt, or not the file its header describes)")
                }
                switch status {
                case Z_STREAM_END:
                    return output
                case Z_OK:
                    continue
                case Z_BUF_ERROR where stream.avail_in == 0:
                    if prefixOnly { return output }
                    throw FileError(path, "compressed data is truncated")
                default:
                    let message = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                    throw FileError(path, "corrupt compressed data: \(message)")
                }
            }
        }
    }

    /// Compresses `data` as a single-member gzip stream.
    public static func compress(_ data: Data, level: Int = 6) -> Data {
        var stream = z_stream()
        precondition(anogan_deflate_init_gzip(&stream, Int32(level)) == Z_OK, "deflateInit2 failed")
        defer { deflateEnd(&stream) }
        let input = [UInt8](data)
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))) + 32)
        let written = input.withUnsafeBufferPointer { inBuffer -> Int in
            output.withUnsafeMutableBufferPointer { outBuffer -> Int in
                stream.next_in = UnsafeMutablePointer(mutating: inBuffer.baseAddress)
                stream.avail_in = uInt(inBuffer.count)
                stream.next_out = outBuffer.baseAddress
                stream.avail_out = uInt(outBuffer.count)
                let status = deflate(&stream, Z_FINISH)
                precondition(status == Z_STREAM_END, "deflate did not finish (\(status))")
                return outBuffer.count - Int(stream.avail_out)
            }
        }
        return Data(output[0..<written])
    }
}
