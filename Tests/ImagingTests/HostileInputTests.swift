// Hostile inputs to the image readers and the OCT preprocessing (issue 10):
// sizes checked against MemoryBudget before decoding or inflating, MetaImage
// data files kept inside the header's folder, and the inputs that used to trap
// (overflowing IDX dimensions, 1-row B-scans, extreme spacing) are FileErrors.

import Foundation
import Imaging
import Records
import TestSupport
import XCTest

final class HostileInputTests: TemporaryDirectoryTestCase {
    private func header(_ dims: String, _ type: String = "MET_UCHAR", spacing: String? = nil, compressed: Bool = false,
                        dataFile: String = "LOCAL") -> String {
        "ObjectType = Image\nNDims = \(dims.split(separator: " ").count)\nBinaryData = True\nCompressedData = \(compressed ? "True" : "False")\n"
            + "DimSize = \(dims)\n" + (spacing.map { "ElementSpacing = \($0)\n" } ?? "") + "ElementType = \(type)\nElementDataFile = \(dataFile)\n"
    }

    // MARK: MetaImage paths

    func testDataFileOutsideTheHeaderFolderIsRefused() throws {
        let folder = dir.appendingPathComponent("scan")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try Data(repeating: 7, count: 4).write(to: dir.appendingPathComponent("outside.raw"))
        try Data(repeating: 9, count: 4).write(to: folder.appendingPathComponent("sub/inside.raw"))
        let mhd = folder.appendingPathComponent("v.mhd")

        try Data(header("2 2", dataFile: "sub/inside.raw").utf8).write(to: mhd)
        XCTAssertEqual(try MetaImage.read(mhd).voxels, [9, 9, 9, 9], "a data file below the header's folder is read")

        for escape in ["/etc/passwd", "../outside.raw", "sub/../../outside.raw", dir.appendingPathComponent("outside.raw").path] {
            try Data(header("2 2", dataFile: escape).utf8).write(to: mhd)
            assertFileError(try MetaImage.read(mhd), names: "v.mhd", "outside the header's folder")
        }
        // A symlink inside the folder pointing out of it is resolved and refused too.
        try FileManager.default.createSymbolicLink(at: folder.appendingPathComponent("link.raw"),
                                                   withDestinationURL: dir.appendingPathComponent("outside.raw"))
        try Data(header("2 2", dataFile: "link.raw").utf8).write(to: mhd)
        assertFileError(try MetaImage.read(mhd), names: "v.mhd", "outside the header's folder")
    }

    // MARK: Memory budget

    func testMetaImageWhoseDimensionsExceedTheBudgetIsRefusedBeforeReadingData() throws {
        let url = dir.appendingPathComponent("big.mha")
        // 10000×10000×100 float voxels declared, 10 bytes of data present: the budget speaks first.
        try (Data(header("10000 10000 100", "MET_FLOAT").utf8) + Data(count: 10)).write(to: url)
        try MemoryBudget.$override.withValue(1 << 30) {
            assertFileError(try MetaImage.read(url), names: "big.mha", "DimSize 10000 10000 100 of MET_FLOAT would need 80.0 GB")
        }
    }

    func testCompressedMetaImageIsCheckedBeforeInflating() throws {
        let url = dir.appendingPathComponent("bomb.mha")
        // 4 MB of zeros compress to ~4 KB; a 8 MB budget refuses from the header alone
        // (4 Mi voxels: 1 byte stored + 4 bytes as Float each = 20 MB).
        let payload = Gzip.compress(Data(count: 4 << 20), level: 9)
        try (Data(header("2048 2048", compressed: true).utf8) + payload).write(to: url)
        try MemoryBudget.$override.withValue(8 << 20) {
            assertFileError(try MetaImage.read(url), names: "bomb.mha", "DimSize 2048 2048 of MET_UCHAR would need 21.0 MB")
        }
        XCTAssertEqual(try MetaImage.read(url).voxels.count, 4 << 20, "within the default budget it decodes")
    }

    func testIDXDimensionsThatOverflowAreAnErrorNotATrap() throws {
        var bytes: [UInt8] = [0, 0, 8, 4]
        for _ in 0..<4 { bytes += [0xFF, 0xFF, 0xFF, 0xFF] }
        let url = dir.appendingPathComponent("overflow-idx3-ubyte")
        try Data(bytes).write(to: url)
        assertFileError(try IDX.read(url), names: "overflow-idx3-ubyte", "implausibly large")
        try Gzip.compress(Data(bytes)).write(to: url)
        assertFileError(try IDX.read(url), names: "overflow-idx3-ubyte", "implausibly large")
    }

    func testGzipIDXBeyondTheBudgetIsRefusedBeforeInflating() throws {
        let images = IDXArray(shape: [100, 100, 100], values: [UInt8](repeating: 0, count: 1_000_000))
        let url = dir.appendingPathComponent("t10k-images-idx3-ubyte.gz")
        try Gzip.compress(IDX.encode(images)).write(to: url)
        XCTAssertEqual(try IDX.read(url), images)
        try MemoryBudget.$override.withValue(1_000_000) {
            assertFileError(try IDX.read(url), names: "t10k-images-idx3-ubyte.gz", "IDX shape [100, 100, 100] would need 2.0 MB")
        }
    }

    func testHugePNGIsRefusedFromItsHeader() throws {
        // Signature and an IHDR of 30000×30000 grey: enough to be refused, nothing else is read.
        func chunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
            let length = UInt32(body.count)
            return [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: length >> $0) } + Array(type.utf8) + body + [0, 0, 0, 0]
        }
        let side: [UInt8] = [0, 0, 0x75, 0x30]  // 30000
        let bytes: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", side + side + [8, 0, 0, 0, 0])
        try MemoryBudget.$override.withValue(1 << 30) {
            assertFileError(try PNG.decode(Data(bytes), path: "huge.png"), names: "huge.png", "decoding the 30000×30000 PNG would need 8.1 GB")
        }
        // Small images are unaffected.
        let small = try PNG.encode(width: 3, height: 2, channels: 1, pixels8: [0, 1, 2, 3, 4, 5])
        try MemoryBudget.$override.withValue(1000) { XCTAssertEqual(try PNG.decode(small, path: "s.png").samples, [0, 1, 2, 3, 4, 5]) }
    }

    // MARK: OCT preprocessing

    private func addPatches(_ volume: Volume) throws {
        var rng = SeededGenerator(seed: 1)
        var collector = OCTPatchCollector(size: 64)
        try OCTPreprocessing.addPatches(from: volume, mask: nil, name: "eye.mha", settings: .init(), unmaskedLabel: 0,
                                        using: &rng, into: &collector)
    }

    func testOneRowBScanIsAnErrorNotATrap() throws {
        let volume = Volume(width: 300, height: 1, depth: 1, voxels: [Float](repeating: 1, count: 300))
        assertFileError(try addPatches(volume), names: "eye.mha", "1 row(s) high; layer segmentation needs at least 3")
    }

    func testExtremeSpacingIsAnErrorNotATrap() throws {
        for spacing in [1e300, 1e-300, 200.0] {  // mm: beyond Double after ×1000, a subatomic column, 200 mm
            let volume = Volume(width: 64, height: 64, depth: 1, spacing: SIMD3(spacing, 0.004, 1), voxels: [Float](repeating: 1, count: 64 * 64))
            assertFileError(try addPatches(volume), names: "eye.mha", "B-scan spacing along x is")
        }
        let deep = Volume(width: 64, height: 64, depth: 1, spacing: SIMD3(0.01, 1e300, 1), voxels: [Float](repeating: 1, count: 64 * 64))
        assertFileError(try addPatches(deep), names: "eye.mha", "B-scan spacing along depth is")
    }

    func testResamplingBeyondTheBudgetIsRefusedBeforeAllocating() throws {
        // 512 columns 90 µm apart resample to 2091 columns of 22 µm: 49.8 MB of working images.
        let volume = Volume(width: 512, height: 496, depth: 1, spacing: SIMD3(0.09, 0.0039, 1),
                            voxels: [Float](repeating: 1, count: 512 * 496))
        try MemoryBudget.$override.withValue(16 << 20) {
            assertFileError(try addPatches(volume), names: "eye.mha", "resampling 512-column B-scans from 90.0 µm to 22.0 µm")
        }
    }

    /// Spacing written in µm where MetaImage means mm makes a B-scan metres wide or rows
    /// millimetres apart: refused with the fix, not resampled hundreds of times wider.
    func testSpacingInMicrometresWhereMillimetresAreMeantIsRefused() throws {
        let wide = Volume(width: 256, height: 64, depth: 1, spacing: SIMD3(11.7, 0.00387, 0.12), voxels: [Float](repeating: 1, count: 256 * 64))
        assertFileError(try addPatches(wide), names: "eye.mha", "B-scans would be 2995 mm wide (256 columns 11700 µm apart)")
        let deep = Volume(width: 256, height: 64, depth: 1, spacing: SIMD3(0.0117, 3.87, 0.12), voxels: [Float](repeating: 1, count: 256 * 64))
        assertFileError(try addPatches(deep), names: "eye.mha", "B-scan rows are 3870 µm apart")
        // A wide-field scan (12 mm over 256 columns, 47 µm) and coarse rows (20 µm) are real OCT: accepted.
        let wideField = Volume(width: 256, height: 64, depth: 1, spacing: SIMD3(0.047, 0.02, 0.12), voxels: [Float](repeating: 1, count: 256 * 64))
        XCTAssertNoThrow(try addPatches(wideField))
    }
}
