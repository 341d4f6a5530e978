// The hostile-input classes of issue 10, each run through the subcommand a user
// would hit: a 0-d .npy, a 1-row B-scan, extreme MetaImage spacing, overflowing
// IDX dimensions, mangled checkpoints, a PNG declaring 30000×30000, a MetaImage
// data file outside its folder, images whose side is not a multiple of 16, and
// compressed inputs that would inflate beyond ANOGAN_MEMORY_LIMIT. Each must
// end in a one-line error naming the file and the problem (the side-20 images:
// the setting, as a usage error), a non-zero exit (not a signal), and no output
// left behind. The files are written here
// without the readers (PNG, zlib/gzip and MetaImage by hand below). Only the
// checkpoints use the library: Records' Safetensors reads and rewrites a
// checkpoint that a tiny `train` run wrote.

import Foundation
import Records
import XCTest

final class HostileInputCLITests: CLITestCase {
    // MARK: - Helpers

    /// Runs `body` with `name=value` in this process's environment, so the
    /// `anogan` it starts inherits it (the harness passes the environment on).
    @discardableResult
    private func with<T>(_ name: String, _ value: String, _ body: () throws -> T) rethrows -> T {
        let previous = getenv(name).map { String(cString: $0) }
        setenv(name, value, 1)
        defer { if let previous { setenv(name, previous, 1) } else { unsetenv(name) } }
        return try body()
    }

    /// Asserts that a failed run left nothing behind: no `out`, and no temporary sibling.
    private func assertNothingWritten(_ out: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "a failed run left \(out)", file: file, line: line)
        let partial = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".partial-") || $0.contains(".tmp-") }
        XCTAssertEqual(partial, [], "a failed run left temporary files", file: file, line: line)
    }

    /// A MetaImage header (`.mha`, data LOCAL unless `dataFile` says otherwise).
    private func metaHeader(_ dims: [Int], spacing: String? = nil, compressed: Bool = false, dataFile: String = "LOCAL") -> Data {
        var text = "ObjectType = Image\nNDims = \(dims.count)\nBinaryData = True\nCompressedData = \(compressed ? "True" : "False")\n"
        text += "DimSize = \(dims.map(String.init).joined(separator: " "))\n"
        if let spacing { text += "ElementSpacing = \(spacing)\n" }
        text += "ElementType = MET_UCHAR\nElementDataFile = \(dataFile)\n"
        return Data(text.utf8)
    }

    /// Bytes 0…250 repeating: a volume of `count` voxels that is not constant.
    private func voxels(_ count: Int) -> Data { Data((0..<count).map { UInt8($0 % 251) }) }

    // MARK: Independent PNG, zlib and gzip writers (CRC-32, Adler-32, fixed-Huffman deflate)

    private static let crcTable: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    private func crc32(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = Self.crcTable[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }

    private func adler32(_ bytes: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        for x in bytes { a = (a + UInt32(x)) % 65521; b = (b + a) % 65521 }
        return b << 16 | a
    }

    private func bigEndian(_ v: UInt32) -> [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: v >> $0) } }
    private func littleEndian(_ v: UInt32) -> [UInt8] { [0, 8, 16, 24].map { UInt8(truncatingIfNeeded: v >> $0) } }

    /// One deflate block with the fixed Huffman codes (RFC 1951 §3.2.6): bytes as
    /// literals, except that runs of zeros become a literal 0 followed by
    /// (length 258, distance 1) copies, 13 bits per 258 bytes. A bomb in a few KB.
    private func deflate(_ input: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [], bitBuffer: UInt32 = 0, bitCount = 0
        func bits(_ value: UInt32, _ count: Int) {  // LSB first (header, extra bits)
            bitBuffer |= value << bitCount; bitCount += count
            while bitCount >= 8 { out.append(UInt8(bitBuffer & 0xFF)); bitBuffer >>= 8; bitCount -= 8 }
        }
        func code(_ value: UInt32, _ length: Int) {  // Huffman codes go MSB first
            for i in stride(from: length - 1, through: 0, by: -1) { bits((value >> i) & 1, 1) }
        }
        func literal(_ b: UInt8) { b < 144 ? code(0x30 + UInt32(b), 8) : code(0x190 + UInt32(b) - 144, 9) }
        bits(1, 1); bits(1, 2)  // BFINAL, BTYPE = fixed Huffman
        var i = 0
        while i < input.count {
            literal(input[i])
            if input[i] == 0 {
                var run = 0
                while i + 1 + run < input.count && input[i + 1 + run] == 0 { run += 1 }
                for _ in 0..<(run / 258) { code(0xC5, 8); code(0, 5) }  // length code 285 (= 258), distance code 0 (= 1)
                for _ in 0..<(run % 258) { literal(0) }
                i += run
            }
            i += 1
        }
        code(0, 7)  // end of block (256)
        if bitCount > 0 { out.append(UInt8(bitBuffer & 0xFF)) }
        return out
    }

    private func zlib(_ input: [UInt8]) -> Data { Data([0x78, 0x01] + deflate(input) + bigEndian(adler32(input))) }

    private func gzip(_ input: [UInt8]) -> Data {
        Data([0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3] + deflate(input) + littleEndian(crc32(input)) + littleEndian(UInt32(truncatingIfNeeded: input.count)))
    }

    private func pngChunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
        let typed = Array(type.utf8) + body
        return bigEndian(UInt32(body.count)) + typed + bigEndian(crc32(typed))
    }

    private let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// An 8-bit greyscale PNG (filter 0 on every row).
    private func png(width: Int, height: Int, pixels: [UInt8]) -> Data {
        var raw: [UInt8] = []
        for y in 0..<height { raw += [0] + pixels[(y * width)..<((y + 1) * width)] }
        let ihdr = bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [8, 0, 0, 0, 0]
        return Data(pngSignature + pngChunk("IHDR", ihdr) + pngChunk("IDAT", Array(zlib(raw))) + pngChunk("IEND", []))
    }

    func testTheIndependentEncodersAreValid() throws {
        // Known values: CRC-32 and Adler-32 of "123456789", and the CRC of the IEND chunk type.
        XCTAssertEqual(crc32(Array("123456789".utf8)), 0xCBF4_3926)
        XCTAssertEqual(adler32(Array("123456789".utf8)), 0x091E_01DE)
        XCTAssertEqual(pngChunk("IEND", []).suffix(4), [0xAE, 0x42, 0x60, 0x82])
        // A zero run stays small. (That the PNG, zlib and gzip written here decode whole is shown
        // below: the 1-row PNG fails only at the height check, the gzip IDX control at its labels.)
        XCTAssertLessThan(zlib([UInt8](repeating: 0, count: 1 << 20)).count, 8 << 10)
    }

    // MARK: - 0-d .npy

    func testZeroDimensionalNPYIsAnErrorForTrainAndScore() throws {
        let scalar = try write(npy([0.5], shape: []), "scalar.npy")
        try assertFails(["train", "--data", scalar, "--out", path("t"), "--epochs", "1", "--width", "2", "--batch-size", "2"],
                        status: 1, mentions: [scalar, "0-d array"])
        try assertNothingWritten(path("t"))
        let checkpoint = try trainTinyCheckpoint()
        try assertFails(["score", "--checkpoint", checkpoint, "--data", scalar, "--out", path("s"), "--steps", "2"],
                        status: 1, mentions: [scalar, "0-d array"])
        try assertNothingWritten(path("s"))
    }

    // MARK: - Height-1 B-scan

    func testOneRowBScanIsAnError() throws {
        let folder = dir.appendingPathComponent("bscans")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        // 300 black pixels then a ramp: the zero run exercises the deflate copies of the writer above.
        let row = [UInt8](repeating: 0, count: 300) + (0..<300).map { UInt8($0 % 256) }
        try png(width: 600, height: 1, pixels: row).write(to: folder.appendingPathComponent("0.png"))
        // The error comes after decoding: the PNG (zlib stream, Adler-32, chunk CRCs) written here is valid.
        try assertFails(["prepare", "--bscan-folder", folder.path, "--out", path("p")], status: 1,
                        mentions: ["bscans", "1 row(s) high", "at least 3"])
        try assertNothingWritten(path("p"))
        // The same as a MetaImage volume of height 1.
        let volume = try write(metaHeader([300, 1, 1], spacing: "0.0113 0.0039 0.1") + voxels(300), "flat.mha")
        try assertFails(["prepare", "--volume", volume, "--out", path("p")], status: 1, mentions: ["flat.mha", "1 row(s) high"])
        try assertNothingWritten(path("p"))
    }

    // MARK: - MetaImage spacing

    func testExtremeElementSpacingIsAnError() throws {
        for (name, spacing, axis) in [("wide.mha", "1e300 0.0039 0.1", "x"), ("tiny.mha", "1e-300 0.0039 0.1", "x"),
                                      ("deep.mha", "0.0113 1e300 0.1", "depth")] {
            let volume = try write(metaHeader([64, 64, 1], spacing: spacing) + voxels(64 * 64), name)
            try assertFails(["prepare", "--volume", volume, "--out", path("p")], status: 1,
                            mentions: [name, "spacing along \(axis)", "ElementSpacing is in mm"])
            try assertNothingWritten(path("p"))
        }
    }

    func testSpacingThatWouldResampleBeyondTheLimitIsRefused() throws {
        // 254 KB: 512 columns 90 µm apart (a 46 mm wide-field scan) resample to 2091 columns of 22 µm,
        // 49.8 MB of working images (12 Float images), above a 16 MB limit.
        let volume = try write(metaHeader([512, 496, 1], spacing: "0.09 0.0039 0.1") + voxels(512 * 496), "sparse.mha")
        try with("ANOGAN_MEMORY_LIMIT", "16M") {
            try assertFails(["prepare", "--volume", volume, "--out", path("p")], status: 1,
                            mentions: ["sparse.mha", "resampling 512-column B-scans from 90.0 µm", "2091.0 columns × 496 rows) would need 49.8 MB",
                                       "ANOGAN_MEMORY_LIMIT"])
        }
        try assertNothingWritten(path("p"))
    }

    func testSpacingInMicrometresWhereMillimetresAreMeantIsRefusedWithTheFix() throws {
        // The phantom's spacing written in µm: 512 columns 11.7 mm apart would be a 6 m wide B-scan.
        let volume = try write(metaHeader([512, 64, 1], spacing: "11.7 3.87 120") + voxels(512 * 64), "microns.mha")
        try assertFails(["prepare", "--volume", volume, "--out", path("p")], status: 1,
                        mentions: ["microns.mha", "B-scans would be 5990 mm wide", "ElementSpacing is in mm"])
        try assertNothingWritten(path("p"))
    }

    // MARK: - IDX

    /// An IDX directory with valid tiny files, `trainImages` replacing train-images.
    private func idxDirectory(trainImages: Data, named name: String = "train-images-idx3-ubyte") throws -> URL {
        let idx = dir.appendingPathComponent("idx")
        try FileManager.default.createDirectory(at: idx, withIntermediateDirectories: true)
        let images = Data([0, 0, 8, 3] + bigEndian(4) + bigEndian(28) + bigEndian(28) + [UInt8](repeating: 9, count: 4 * 28 * 28))
        let labels = Data([0, 0, 8, 1] + bigEndian(4) + [0, 1, 0, 1])
        try trainImages.write(to: idx.appendingPathComponent(name))
        try labels.write(to: idx.appendingPathComponent("train-labels-idx1-ubyte"))
        try images.write(to: idx.appendingPathComponent("t10k-images-idx3-ubyte"))
        try labels.write(to: idx.appendingPathComponent("t10k-labels-idx1-ubyte"))
        return idx
    }

    func testIDXDimensionsThatOverflowAreAnError() throws {
        // Four dimensions of 2³²−1: their product overflows Int.
        let overflow = Data([0, 0, 8, 4] + [UInt8](repeating: 0xFF, count: 16))
        let idx = try idxDirectory(trainImages: overflow)
        let file = idx.appendingPathComponent("train-images-idx3-ubyte").path
        try assertFails(["prepare", "--idx", idx.path, "--normal-class", "0", "--out", path("p")], status: 1,
                        mentions: [file, "implausibly large"])
        try assertNothingWritten(path("p"))
    }

    func testGzipIDXBeyondTheMemoryLimitIsRefused() throws {
        // 100×100×100 zero bytes gzip to ~6 KB; decoding needs 1 MB of bytes and 4 MB of floats.
        let header: [UInt8] = [0, 0, 8, 3] + bigEndian(100) + bigEndian(100) + bigEndian(100)
        let bomb = gzip(header + [UInt8](repeating: 0, count: 1_000_000))
        XCTAssertLessThan(bomb.count, 10_000)
        let idx = try idxDirectory(trainImages: bomb, named: "train-images-idx3-ubyte.gz")
        let file = idx.appendingPathComponent("train-images-idx3-ubyte.gz").path
        try with("ANOGAN_MEMORY_LIMIT", "1M") {
            try assertFails(["prepare", "--idx", idx.path, "--normal-class", "0", "--out", path("p")], status: 1,
                            mentions: [file, "[100, 100, 100]", "would need", "above the memory limit of 1.0 MB", "ANOGAN_MEMORY_LIMIT"])
        }
        try assertNothingWritten(path("p"))
        // Control: under the default limit the same file inflates whole (the gzip written here, CRC and
        // size included, is valid: all 100 images are read) and the run stops at the 4 labels beside them.
        try assertFails(["prepare", "--idx", idx.path, "--normal-class", "0", "--out", path("p")], status: 1,
                        mentions: ["train-labels-idx1-ubyte", "4 labels for 100 images"])
    }

    // MARK: - Compressed MetaImage

    func testCompressedMetaImageBeyondTheMemoryLimitIsRefused() throws {
        // 1024×1024 zero voxels deflate to ~5 KB; decoding needs 1 MiB stored + 4 MiB as floats.
        let payload = zlib([UInt8](repeating: 0, count: 1 << 20))
        let volume = try write(metaHeader([1024, 1024, 1], spacing: "0.0113 0.0039 0.1", compressed: true) + payload, "bomb.mha")
        XCTAssertLessThan(try Data(contentsOf: URL(fileURLWithPath: volume)).count, 10_000)
        try with("ANOGAN_MEMORY_LIMIT", "1M") {
            try assertFails(["prepare", "--volume", volume, "--out", path("p")], status: 1,
                            mentions: [volume, "DimSize 1024 1024 1", "would need 5.2 MB", "above the memory limit of 1.0 MB",
                                       "ANOGAN_MEMORY_LIMIT"])
        }
        try assertNothingWritten(path("p"))
    }

    // MARK: - PNG declaring 30000×30000

    func testPNGDeclaring30000By30000IsRefusedFromItsHeader() throws {
        let folder = dir.appendingPathComponent("huge")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        // A valid IHDR (with its CRC) and a few bytes of IDAT: 57 bytes declaring 900 million pixels.
        let side = bigEndian(30000)
        let bytes = pngSignature + pngChunk("IHDR", side + side + [8, 0, 0, 0, 0]) + pngChunk("IDAT", Array(zlib([0, 0, 0]))) + pngChunk("IEND", [])
        let file = folder.appendingPathComponent("0.png")
        try Data(bytes).write(to: file)
        try with("ANOGAN_MEMORY_LIMIT", "1G") {
            try assertFails(["prepare", "--bscan-folder", folder.path, "--out", path("p")], status: 1,
                            mentions: [file.path, "30000×30000", "would need 8.1 GB", "ANOGAN_MEMORY_LIMIT"])
        }
        try assertNothingWritten(path("p"))
    }

    // MARK: - MetaImage data file outside its folder

    func testMetaImageDataFileOutsideItsFolderIsRefused() throws {
        let folder = dir.appendingPathComponent("scan")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try voxels(64 * 64).write(to: dir.appendingPathComponent("x.raw"))
        for escape in ["/etc/passwd", "../x.raw"] {
            let header = folder.appendingPathComponent("eye.mhd")
            try metaHeader([64, 64, 1], spacing: "0.0113 0.0039 0.1", dataFile: escape).write(to: header)
            try assertFails(["prepare", "--volume", header.path, "--out", path("p")], status: 1,
                            mentions: [header.path, "outside the header's folder"])
            try assertNothingWritten(path("p"))
        }
    }

    // MARK: - Image side not a multiple of 16

    func testTrainingOnImagesWhoseSideIsNotAMultipleOf16IsAnError() throws {
        let data = try write(npy(images(4, size: 20), shape: [4, 1, 20, 20]), "twenty.npy")
        // Caught before any network is built; the size came from the data, so the message names the data file.
        try assertFails(["train", "--data", data, "--out", path("t"), "--epochs", "1", "--width", "2", "--batch-size", "2"],
                        status: 1, mentions: ["twenty.npy", "20×20", "multiple of 16"])
        try assertNothingWritten(path("t"))
    }

    // MARK: - Checkpoints

    /// Copies `checkpoint` to `name` with `edit` applied to its tensors and metadata (Records' Safetensors).
    private func mangled(_ checkpoint: String, _ name: String,
                         _ edit: (inout [String: Tensor], inout [String: String]) throws -> Void) throws -> String {
        let file = try Safetensors.read(URL(fileURLWithPath: checkpoint))
        var tensors = file.tensors, meta = file.metadata
        try edit(&tensors, &meta)
        let url = dir.appendingPathComponent(name)
        try Safetensors.write(file.order.map { ($0, tensors[$0]!) }, metadata: meta, to: url)
        return url.path
    }

    /// The metadata entry `key` (a JSON object) with `field` set to `value`.
    private func setting(_ meta: inout [String: String], _ key: String, _ field: String, _ value: Int) throws {
        var object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(try XCTUnwrap(meta[key]).utf8)) as? [String: Any])
        XCTAssertNotNil(object[field], "\(key) has no \(field)")
        object[field] = value
        meta[key] = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    func testHostileCheckpointsAreRefusedBeforeScoring() throws {
        let checkpoint = try trainTinyCheckpoint()
        let query = try write(npy(images(2, size: 16), shape: [2, 1, 16, 16]), "query.npy")
        let score = { (c: String) in ["score", "--checkpoint", c, "--data", query, "--out", self.path("s"), "--steps", "2"] }

        // Huge declared width over the real (width-2) tensors: a small file whose networks would need
        // petabytes, refused under the machine's default limit before any network is built.
        let wide = try mangled(checkpoint, "wide.safetensors") { _, meta in try setting(&meta, "architecture", "width", 1 << 20) }
        XCTAssertLessThan(try Data(contentsOf: URL(fileURLWithPath: wide)).count, 1 << 20)
        try assertFails(score(wide), status: 1, mentions: [wide, "declared architecture", "width 1048576", "would need", "ANOGAN_MEMORY_LIMIT"])
        try assertNothingWritten(path("s"))

        // Counters near Int.max.
        let counter = try mangled(checkpoint, "counter.safetensors") { _, meta in try setting(&meta, "position", "iteration", Int.max) }
        try assertFails(score(counter), status: 1, mentions: [counter, "position iteration", "\(Int.max)"])
        try assertNothingWritten(path("s"))

        // A negative BatchNorm running variance (it used to load and give plausible scores).
        var tensorName = ""
        let negative = try mangled(checkpoint, "negative.safetensors") { tensors, _ in
            tensorName = try XCTUnwrap(tensors.keys.sorted().first { $0.hasSuffix("running_var") })
            tensors[tensorName]!.data[0] = -0.5
        }
        try assertFails(score(negative), status: 1, mentions: [negative, tensorName, "negative variance -0.5"])
        try assertNothingWritten(path("s"))

        // The unmangled checkpoint still scores (the failures above are the edits').
        XCTAssertEqual(try run(score(checkpoint)).status, 0)
    }
}
