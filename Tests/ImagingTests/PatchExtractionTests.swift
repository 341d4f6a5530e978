// PatchExtraction.swift: patches lie inside the retina, carry the labels of the
// unflattened mask, and their positions are seeded.

import XCTest
import Imaging
import Records

final class PatchExtractionTests: XCTestCase {
    let settings = OCTPhantomSettings.halfResolution

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
}
