// Resampling, flattening, patch extraction and the whole preprocessing
// pipeline, checked against hand-computed values and the phantom's truth.

import TestSupport
import XCTest
import Imaging
import Records

final class OCTPreprocessingTests: TemporaryDirectoryTestCase {
    func testResamplingColumnCountAndLinearRamp() {
        // 512 columns of 6 mm / 512: (511 · 11.71875 / 22) = 272.2 → columns 0…272.
        XCTAssertEqual(OCTResampling.columnCount(width: 512, spacing: 6000.0 / 512, target: 22), 273)
        XCTAssertEqual(OCTResampling.columnCount(width: 11, spacing: 10, target: 20), 6)
        let w = 512, h = 3, dx = 6000.0 / 512
        var ramp = BScan(width: w, height: h, spacingX: dx, spacingZ: 3.87)
        for z in 0..<h { for x in 0..<w { ramp[z, x] = Float(z) - 0.5 + 0.0003 * Float(Double(x) * dx) } }
        let out = OCTResampling.resample(ramp, targetSpacingX: 22)
        XCTAssertEqual(out.width, 273)
        XCTAssertEqual(out.spacingX, 22)
        for z in 0..<h { for j in 0..<out.width {
            XCTAssertEqual(out[z, j], Float(z) - 0.5 + 0.0003 * Float(j * 22), accuracy: 1e-4)
        } }
        // Unknown spacing: unchanged.
        var unknown = ramp; unknown.spacingX = 0
        XCTAssertEqual(OCTResampling.resample(unknown, targetSpacingX: 22), unknown)
    }

    func testMaskResamplingIsNearestNeighbour() {
        var mask = BScanMask(width: 40, height: 2)
        for x in 0..<40 { mask[1, x] = UInt8(x) }
        let out = OCTResampling.resample(mask, spacingX: 10, targetSpacingX: 25)
        XCTAssertEqual(out.width, 16)   // 39·10/25 = 15.6
        for j in 0..<out.width {
            XCTAssertEqual(out[1, j], UInt8((Double(j) * 2.5).rounded()))
            XCTAssertEqual(out[0, j], 0)
        }
    }

    /// Phantom B-scan at half resolution (quick in debug), 22 µm resampling is a no-op on 23.4 µm columns → use 11.7.
    let settings = OCTPhantomSettings(width: 256, height: 248, bscans: 5, spacingX: 3000.0 / 256, spacingZ: 7.74, spacingY: 300, diseased: true)

    func testFlatteningOnTrueBoundariesMakesBruchStraight() {
        let (image, mask, truth) = OCTPhantom.bscan(2, settings: settings, seed: 31)
        let flat = OCTFlattening.flatten(image, mask: mask, boundaries: truth, marginAbove: 10, marginBelow: 7, fill: -1)
        let rows = (0..<image.width).map { flat.flattenedRow(sourceRow: truth.bruch[$0], column: $0) }
        XCTAssertLessThanOrEqual(rows.max()! - rows.min()!, 1, "flattened Bruch varies by more than a row")
        for r in rows { XCTAssertEqual(r, Float(flat.bruchRow), accuracy: 0.5) }
        XCTAssertEqual(flat.image.height, flat.bruchRow + 8)
        // ILM stays ≥ the top margin; pixels and labels move with their column's offset.
        XCTAssertGreaterThanOrEqual(flat.ilm.min()!, 10 - 1)
        for x in stride(from: 0, to: image.width, by: 17) {
            for z in 0..<flat.image.height {
                let source = z + flat.offsets[x]
                if source >= 0 && source < image.height {
                    XCTAssertEqual(flat.image[z, x], image[source, x])
                    XCTAssertEqual(flat.mask![z, x], mask[source, x])
                } else {
                    XCTAssertEqual(flat.image[z, x], -1)
                }
            }
        }
    }

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

    func testPatchesInsideRetinaWithLabelsFromMasks() {
        var rng = SeededGenerator(seed: 3)
        var positives = 0, negatives = 0
        for seed: UInt64 in [31, 33, 34] {
            for b in 0..<settings.bscans {
                let (image, mask, _) = OCTPhantom.bscan(b, settings: settings, seed: seed)
                let prepared = OCTPreprocessing.prepare(image, mask: mask, grayRange: 0...1, settings: OCTPreprocessingSettings())
                let flat = prepared.flat
                let resampledMask = OCTResampling.resample(mask, spacingX: image.spacingX, targetSpacingX: 22)
                let patches = OCTPatchExtraction.extract(from: flat, count: 12, size: 32, using: &rng)
                XCTAssertEqual(patches.count, 12)
                for p in patches {
                    let cx = p.x + 16, cy = p.y + 16
                    XCTAssert(p.x >= 0 && p.y >= 0 && p.x + 32 <= flat.image.width && p.y + 32 <= flat.image.height)
                    XCTAssert(Float(cy) >= flat.ilm[cx].rounded(.up) && cy <= flat.bruchRow, "centre outside the retina")
                    // The mask patch, read independently from the unflattened mask through the column offsets.
                    var annotated = false
                    for r in 0..<32 { for c in 0..<32 {
                        let source = p.y + r + flat.offsets[p.x + c]
                        let label: UInt8 = source >= 0 && source < resampledMask.height ? resampledMask[source, p.x + c] : 0
                        XCTAssertEqual(p.mask![r * 32 + c], label)
                        XCTAssertEqual(p.pixels[r * 32 + c], flat.image[p.y + r, p.x + c])
                        annotated = annotated || label != 0
                    } }
                    XCTAssertEqual(p.label, annotated ? 1 : 0)
                    if annotated { positives += 1 } else { negatives += 1 }
                }
            }
        }
        XCTAssert(positives > 0 && negatives > 0, "the check must see both labels (\(positives)/\(negatives))")
    }

    func testPatchPositionsAreSeeded() {
        let (image, mask, _) = OCTPhantom.bscan(1, settings: settings, seed: 35)
        let flat = OCTPreprocessing.prepare(image, mask: mask, grayRange: 0...1, settings: OCTPreprocessingSettings()).flat
        var a = SeededGenerator(seed: 8), b = SeededGenerator(seed: 8), c = SeededGenerator(seed: 9)
        let pa = OCTPatchExtraction.extract(from: flat, count: 5, size: 64, using: &a).map { [$0.x, $0.y] }
        XCTAssertEqual(pa, OCTPatchExtraction.extract(from: flat, count: 5, size: 64, using: &b).map { [$0.x, $0.y] })
        XCTAssertNotEqual(pa, OCTPatchExtraction.extract(from: flat, count: 5, size: 64, using: &c).map { [$0.x, $0.y] })
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

    /// Patch sets refuse duplicate ids and sources whose B-scan has no geometry, naming the manifest.
    func testPatchSetIdsMustBeUnique() throws {
        let images = Tensor(shape: [2, 1, 4, 4])
        let twice = PatchSet(images: images, ids: ["a", "a"])
        assertFileError(try twice.save(to: dir), names: "manifest.json", "id \"a\" is shared by images 0 and 1")
        // Two patches at one position (possible with random draws) get distinct default ids.
        let same = PatchSource(volume: "v", bscan: 1, x: 2, y: 3)
        XCTAssertEqual(PatchSet(images: images, sources: [same, same]).ids, ["v/1/2/3", "v/1/2/3#2"])
        XCTAssertEqual(PatchSet(images: images).ids, ["0", "1"])
        let noGeometry = PatchSet(images: images, sources: [same, same], bscans: [])
        assertFileError(try noGeometry.save(to: dir), names: "manifest.json", "has no geometry")
    }
}
