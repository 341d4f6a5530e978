// OCTPreprocessing.swift: the whole preprocessing pipeline (segment, resample,
// flatten, patch a volume into a patch set), checked against the phantom's truth.

import TestSupport
import XCTest
import Imaging
import Records

final class OCTPreprocessingTests: TemporaryDirectoryTestCase {
    let settings = OCTPhantomSettings.halfResolution

    func testPipelineSegmentsAndFlattensPhantom() {
        for seed: UInt64 in [31, 32] {
            let (image, mask, truth) = OCTPhantom.bscan(2, settings: settings, seed: seed)
            let prepared = OCTPreprocessing.prepare(image, mask: mask, grayRange: 0...1, settings: OCTPreprocessingSettings())
            let flat = prepared.flat
            // 3 mm at 22 µm per column.
            XCTAssertEqual(flat.image.width, OCTResampling.columnCount(width: 256, spacing: 3000.0 / 256, target: 22))
            XCTAssertEqual(flat.image.spacingX, 22)
            XCTAssert(flat.image.pixels.allSatisfy { $0 >= -1 && $0 <= 1 })
            // True boundaries resampled and carried into the flattened image: Bruch on the line.
            let t = OCTResampling.resample(truth, spacingX: image.spacingX, targetSpacingX: 22)
            var bruchError: Float = 0, ilmError: Float = 0
            for x in 0..<flat.image.width {
                bruchError += abs(flat.flattenedRow(sourceRow: t.bruch[x], column: x) - Float(flat.bruchRow))
                ilmError += abs(flat.flattenedRow(sourceRow: t.ilm[x], column: x) - flat.ilm[x])
            }
            XCTAssertLessThanOrEqual(bruchError / Float(flat.image.width), 2, "seed \(seed)")
            XCTAssertLessThanOrEqual(ilmError / Float(flat.image.width), 2, "seed \(seed)")
            // Re-segmenting the flattened image finds a flat Bruch: most columns within a row of the line.
            let again = LayerSegmentation.segment(flat.image)
            let within = again.bruch.filter { abs($0 - Float(flat.bruchRow)) <= 1 }.count
            XCTAssertGreaterThan(Double(within) / Double(flat.image.width), 0.9, "seed \(seed)")
        }
    }

    func testVolumeToPatchSetAndBadInputs() throws {
        let v = OCTPhantom.generate(OCTPhantomSettings(width: 256, height: 248, bscans: 2, spacingX: 3000.0 / 256, spacingZ: 7.74, spacingY: 300, diseased: true), seed: 36)
        var rng = SeededGenerator(seed: 1)
        var collector = OCTPatchCollector(size: 64)
        try OCTPreprocessing.addPatches(from: v.volume, mask: v.maskVolume, name: "eye.mha", settings: OCTPreprocessingSettings(patchesPerBScan: 3),
                                        unmaskedLabel: -1, using: &rng, into: &collector)
        let set = collector.patchSet(settings: [:], seed: 1)
        XCTAssertEqual(set.images.shape, [6, 1, 64, 64])
        XCTAssertEqual(set.sources?.map(\.bscan), [0, 0, 0, 1, 1, 1])
        XCTAssertEqual(set.sources?.first?.volume, "eye.mha")
        for i in 0..<6 {
            let m = set.masks!.items(i..<(i + 1)).array
            XCTAssertEqual(set.labels![i], m.contains { $0 != 0 } ? 1 : 0)
        }
        XCTAssertEqual(OCTPreprocessing.grayRange(of: v.volume), 0...255)

        var wrongMask = v.maskVolume
        wrongMask.depth = 1; wrongMask.voxels = Array(wrongMask.voxels.prefix(wrongMask.width * wrongMask.height))
        assertFileError(try OCTPreprocessing.addPatches(from: v.volume, mask: wrongMask, name: "eye.mha", settings: .init(),
                                                        unmaskedLabel: -1, using: &rng, into: &collector), names: "eye.mha", "mask is 256×248×1")
        var broken = v.volume
        broken.voxels[5] = .nan
        assertFileError(try OCTPreprocessing.addPatches(from: broken, mask: nil, name: "bad.mha", settings: .init(),
                                                        unmaskedLabel: -1, using: &rng, into: &collector), names: "bad.mha", "not finite")
    }
}

extension OCTPreprocessingTests {
    /// Only the chosen mask classes count: foci (3) alone give label 0 when only fluid (1, 2) is annotated.
    func testAnnotatedClassesFilterMasks() {
        var mask = BScanMask(width: 256, height: 248)
        let (image, _, _) = OCTPhantom.bscan(2, settings: settings, seed: 31)
        for z in 100..<110 { for x in 0..<256 { mask[z, x] = 3 } }
        let all = OCTPreprocessing.prepare(image, mask: mask, grayRange: 0...1, settings: OCTPreprocessingSettings())
        let fluid = OCTPreprocessing.prepare(image, mask: mask, grayRange: 0...1, settings: OCTPreprocessingSettings(annotatedClasses: [1, 2]))
        XCTAssertTrue(all.flat.mask!.isAnnotated)
        XCTAssertFalse(fluid.flat.mask!.isAnnotated)
    }
}

extension OCTPreprocessingTests {
    /// The geometry a patch set stores (flattening shifts per column, resampling factor)
    /// maps every patch pixel back to its original B-scan: the pixel's value is the
    /// original's gray value at that position (normalised, interpolated along x as
    /// resampling does), its mask label the original mask's there — read straight from
    /// the original volume, after a save/load round trip of the set.
    func testStoredGeometryMapsEveryPatchPixelBackToTheOriginalBScan() throws {
        // 11.7 µm columns resampled to 22 µm: a factor of ~1.88, and a curved, tilted retina to flatten.
        let v = OCTPhantom.generate(OCTPhantomSettings(width: 256, height: 248, bscans: 2, spacingX: 3000.0 / 256, spacingZ: 7.74,
                                                       spacingY: 300, diseased: true), seed: 36)
        var rng = SeededGenerator(seed: 3)
        var collector = OCTPatchCollector(size: 32)
        try OCTPreprocessing.addPatches(from: v.volume, mask: v.maskVolume, name: "eye.mha",
                                        settings: OCTPreprocessingSettings(patchSize: 32, patchesPerBScan: 4),
                                        unmaskedLabel: -1, using: &rng, into: &collector)
        try collector.patchSet(settings: [:], seed: 3).save(to: dir)
        let set = try PatchSet.load(from: dir)
        XCTAssertEqual(set.bscans?.count, 2)
        XCTAssertEqual(set.ids.first, set.sources.map { "eye.mha/0/\($0[0].x)/\($0[0].y)" })
        let range = OCTPreprocessing.grayRange(of: v.volume)
        var flattenedSomewhere = false, outside = 0
        for i in 0..<set.count {
            let g = try XCTUnwrap(set.geometry(of: i))
            XCTAssertEqual(g.bscan.columnScale, 22 / (3000.0 / 256), accuracy: 1e-9)
            XCTAssertEqual(g.bscan.originalWidth, 256)
            let original = v.volume.bscan(g.source.bscan), mask = v.maskVolume.mask(g.source.bscan)
            let gray = original.normalized(low: range.lowerBound, high: range.upperBound)
            if Set(g.bscan.rowOffsets).count > 1 { flattenedSomewhere = true }
            let image = set.images.items(i..<(i + 1)).array, labels = set.masks!.items(i..<(i + 1)).array
            for r in 0..<32 {
                for c in 0..<32 {
                    let (row, column) = g.originalPosition(row: r, column: c)
                    let value = image[r * 32 + c]
                    guard row >= 0 && row < original.height else {
                        XCTAssertEqual(value, -1, "patch \(i) pixel (\(r), \(c)) lies outside the B-scan: background")
                        outside += 1
                        continue
                    }
                    let x0 = Int(column), x1 = min(original.width - 1, x0 + 1), t = Float(column - Double(x0))
                    let expected = (1 - t) * gray[row, x0] + t * gray[row, x1]
                    XCTAssertEqual(value, expected, accuracy: 1e-5, "patch \(i) pixel (\(r), \(c)) → original (\(row), \(column))")
                    XCTAssertEqual(labels[r * 32 + c] != 0, mask[row, Int(column.rounded())] != 0, "mask of patch \(i) at (\(r), \(c))")
                }
            }
        }
        XCTAssertTrue(flattenedSomewhere, "the phantom's retina is curved, so flattening shifts columns differently")
        XCTAssertLessThan(outside, set.count * 32 * 32 / 10)
    }


}
