// The OCT phantom: reproducible, varied between subjects, OCT-like intensities
// (dark vitreous, bright RPE, dark fluid), masks where the fluid is, and files
// that read back with their spacing.

import TestSupport
import XCTest
import Imaging
import Records

final class OCTPhantomTests: TemporaryDirectoryTestCase {
    let small = OCTPhantomSettings(width: 128, height: 124, bscans: 5, spacingX: 6000.0 / 128, spacingZ: 15.48, spacingY: 300)

    func testSameSeedSameVolumeOtherSeedOtherSubject() {
        let a = OCTPhantom.generate(small, seed: 4), b = OCTPhantom.generate(small, seed: 4), c = OCTPhantom.generate(small, seed: 5)
        XCTAssertEqual(a.bscans, b.bscans)
        XCTAssertEqual(a.boundaries, b.boundaries)
        XCTAssertNotEqual(a.bscans[2].pixels, c.bscans[2].pixels)
        let shift = zip(a.boundaries[2].bruch, c.boundaries[2].bruch).map { abs($0 - $1) }.max()!
        XCTAssertGreaterThan(shift, 1, "subjects should differ in anatomy, not only in noise")
        // One B-scan alone equals the same B-scan of the whole volume.
        XCTAssertEqual(OCTPhantom.bscan(3, settings: small, seed: 4).0, a.bscans[3])
    }

    /// Tiny B-scans (the phantom command allows 64×64) put vessels below the image: no trap.
    func testTinyDiseasedBScansGenerate() {
        let defaultSpacing = OCTPhantomSettings(width: 64, height: 64, bscans: 2, diseased: true)
        let scaledSpacing = OCTPhantomSettings(width: 64, height: 64, bscans: 2, spacingX: 6000.0 / 64, spacingZ: 3.87 * 496 / 64,
                                               spacingY: 300, diseased: true)
        for seed in 0..<3 as Range<UInt64> {
          for tiny in [defaultSpacing, scaledSpacing] {
            let volume = OCTPhantom.generate(tiny, seed: seed)
            XCTAssertEqual(volume.bscans.count, 2)
            XCTAssertTrue(volume.bscans.allSatisfy { $0.width == 64 && $0.height == 64 && $0.pixels.allSatisfy(\.isFinite) })
          }
        }
    }

    func testHealthyAnatomyAndIntensities() {
        let settings = OCTPhantomSettings(width: 256, height: 248, bscans: 3, spacingX: 6000.0 / 256, spacingZ: 7.74, spacingY: 500)
        for seed: UInt64 in 1...4 {
            let v = OCTPhantom.generate(settings, seed: seed)
            XCTAssertFalse(v.masks.contains { $0.isAnnotated }, "healthy volumes have no annotations")
            let image = v.bscans[1], truth = v.boundaries[1]
            var vitreous: [Float] = [], retina: [Float] = [], rpe: [Float] = []
            for x in 0..<image.width {
                let ilm = truth.ilm[x], bruch = truth.bruch[x]
                let thicknessUm = Double(bruch - ilm) * settings.spacingZ
                XCTAssert(thicknessUm > 120 && thicknessUm < 500, "seed \(seed) column \(x): retina \(thicknessUm) µm")
                XCTAssert(ilm > 2 && bruch < Float(image.height - 10), "retina leaves the image")
                for z in 0..<image.height {
                    let v = image[z, x], zf = Float(z)
                    if zf < ilm - 5 { vitreous.append(v) }
                    else if zf > ilm + 2 && zf < bruch - 5 { retina.append(v) }
                    else if zf > bruch - 3 && zf < bruch - 1 { rpe.append(v) }
                }
            }
            func mean(_ a: [Float]) -> Float { a.reduce(0, +) / Float(a.count) }
            XCTAssertLessThan(mean(vitreous), 0.08, "vitreous should be dark")
            XCTAssertGreaterThan(mean(retina), mean(vitreous) + 0.3)
            XCTAssertGreaterThan(mean(rpe), mean(retina) + 0.2, "RPE should be the brightest band")
            XCTAssert(image.pixels.allSatisfy { $0 >= 0 && $0 <= 1 })
            // Speckle: neighbouring retina pixels differ noticeably.
            var diff: Float = 0, n: Float = 0
            for x in 0..<(image.width - 1) {
                let z = Int(((truth.ilm[x] + truth.bruch[x]) / 2).rounded())
                diff += abs(image[z, x + 1] - image[z, x]); n += 1
            }
            XCTAssertGreaterThan(diff / n, 0.03)
        }
    }

    func testDiseasedMasksMarkDarkFluidAndBrightFoci() {
        // Half the Spectralis resolution: at coarser rows thin cysts blur into their surroundings.
        let settings = OCTPhantomSettings(width: 256, height: 248, bscans: 7, spacingX: 6000.0 / 256, spacingZ: 7.74,
                                          spacingY: 150, diseased: true)
        var seen = Set<UInt8>()
        for seed: UInt64 in 20..<26 {
            let v = OCTPhantom.generate(settings, seed: seed)
            var fluid: [Float] = [], foci: [Float] = [], tissue: [Float] = []
            for (b, mask) in v.masks.enumerated() {
                let image = v.bscans[b], truth = v.boundaries[b]
                for z in 0..<image.height {
                    for x in 0..<image.width {
                        let label = mask[z, x]
                        seen.insert(label)
                        if label != 0 {
                            XCTAssert(Float(z) >= truth.ilm[x] - 0.5 && Float(z) <= truth.bruch[x] + 0.5, "annotation outside the retina")
                        }
                        switch label {
                        case OCTPhantom.intraretinalFluid, OCTPhantom.subretinalFluid: fluid.append(image[z, x])
                        case OCTPhantom.hyperreflectiveFocus: foci.append(image[z, x])
                        default: if Float(z) > truth.ilm[x] + 2 && Float(z) < truth.bruch[x] - 2 { tissue.append(image[z, x]) }
                        }
                    }
                }
            }
            func mean(_ a: [Float]) -> Float { a.isEmpty ? .nan : a.reduce(0, +) / Float(a.count) }
            if !fluid.isEmpty { XCTAssertLessThan(mean(fluid), mean(tissue) - 0.2, "fluid should be dark (seed \(seed))") }
            if !foci.isEmpty { XCTAssertGreaterThan(mean(foci), mean(tissue) + 0.2, "foci should be bright (seed \(seed))") }
        }
        XCTAssertEqual(seen, [0, 1, 2, 3], "over a few subjects every lesion kind appears")
    }

    func testWrittenFilesReadBack() throws {
        var settings = small
        settings.diseased = true
        let v = OCTPhantom.generate(settings, seed: 21)
        let files = try v.write(to: dir, name: "eye")
        let scan = try MetaImage.read(files.scan), mask = try MetaImage.read(files.mask)
        XCTAssertEqual([scan.width, scan.height, scan.depth], [128, 124, 5])
        XCTAssertEqual(scan.spacing.x, 6.0 / 128, accuracy: 1e-9)
        XCTAssertEqual(scan.spacing.y, 0.01548, accuracy: 1e-9)
        XCTAssertEqual(scan.spacing.z, 0.3, accuracy: 1e-9)
        XCTAssertEqual(scan.bscan(2).pixels.map { $0 / 255 }.enumerated().map { abs($1 - v.bscans[2].pixels[$0]) }.max()!, 0, accuracy: 0.5 / 255 + 1e-6)
        XCTAssertEqual(mask.mask(3), v.masks[3])
        let rows = try NPY.readTensor(files.boundaries)
        XCTAssertEqual(rows.shape, [5, 2, 128])
        XCTAssertEqual(rows[(4 * 2 + 1) * 128 + 7], v.boundaries[4].bruch[7])
        let description = try JSONSerialization.jsonObject(with: readFile(files.description)) as? [String: Any]
        XCTAssertEqual(description?["seed"] as? Int, 21)
        let png = try PNG.read(files.pngFolder.appendingPathComponent("bscan_001.png"))
        XCTAssertEqual([png.width, png.height], [128, 124])
        let folder = try BScanFolder.read(directory: files.pngFolder, masks: files.maskPNGFolder)
        XCTAssertEqual(folder.volume.depth, 5)
        XCTAssertEqual(folder.masks?.mask(3).labels.map { $0 != 0 }, v.masks[3].labels.map { $0 != 0 })
    }
}
