// Layer segmentation against the phantom's true boundaries, and the
// dynamic-programming path search against brute force.

import XCTest
import Imaging
import Records

final class OCTSegmentationTests: XCTestCase {
    /// Mean absolute ILM and Bruch errors (rows) over the given B-scans of a phantom volume.
    func errors(_ settings: OCTPhantomSettings, seed: UInt64, bscans: [Int]) -> (ilm: Double, bruch: Double) {
        var ilm = 0.0, bruch = 0.0, n = 0.0, seconds = 0.0
        for b in bscans {
            let (image, _, truth) = OCTPhantom.bscan(b, settings: settings, seed: seed)
            let start = Date()
            let found = LayerSegmentation.segment(image)
            seconds += Date().timeIntervalSince(start)
            for x in 0..<image.width {
                ilm += Double(abs(found.ilm[x] - truth.ilm[x]))
                bruch += Double(abs(found.bruch[x] - truth.bruch[x]))
                n += 1
            }
        }
        print(String(format: "segmentation %d×%d %@ seed %llu: mean |error| ILM %.3f, Bruch %.3f rows; %.3f s per B-scan",
                     settings.height, settings.width, settings.diseased ? "diseased" : "healthy", seed,
                     ilm / n, bruch / n, seconds / Double(bscans.count)))
        return (ilm / n, bruch / n)
    }

    /// Half the Spectralis resolution keeps debug builds quick; the anatomy is the same in µm.
    let small = OCTPhantomSettings(width: 256, height: 248, bscans: 9, spacingX: 6000.0 / 256, spacingZ: 7.74, spacingY: 700)

    func testHealthyBoundariesWithinTwoRows() {
        for seed: UInt64 in [1, 2, 3] {
            let e = errors(small, seed: seed, bscans: [0, 4, 8])
            XCTAssertLessThanOrEqual(e.ilm, 2, "seed \(seed) ILM")
            XCTAssertLessThanOrEqual(e.bruch, 2, "seed \(seed) Bruch")
        }
    }

    func testDiseasedBoundariesWithinTwoRows() {
        var settings = small
        settings.diseased = true
        for seed: UInt64 in [11, 12, 13] {
            let e = errors(settings, seed: seed, bscans: [2, 4, 6])
            XCTAssertLessThanOrEqual(e.ilm, 2, "seed \(seed) ILM")
            XCTAssertLessThanOrEqual(e.bruch, 2, "seed \(seed) Bruch")
        }
    }

    /// The real Spectralis grid (496×512), one healthy and one diseased foveal B-scan.
    func testFullSizeBoundariesWithinTwoRows() {
        var settings = OCTPhantomSettings(bscans: 5, spacingY: 240)
        let healthy = errors(settings, seed: 5, bscans: [2])
        settings.diseased = true
        let diseased = errors(settings, seed: 6, bscans: [2])
        XCTAssertLessThanOrEqual(healthy.ilm, 2); XCTAssertLessThanOrEqual(healthy.bruch, 2)
        XCTAssertLessThanOrEqual(diseased.ilm, 2); XCTAssertLessThanOrEqual(diseased.bruch, 2)
    }

    /// A naive per-column strongest-edge search would jump to cyst edges; make
    /// sure the phantom's fluid actually creates that trap, so the tests above mean something.
    func testPhantomCystsDefeatNaiveEdgeSearch() {
        var settings = small
        settings.diseased = true
        var naiveILM = 0.0, n = 0.0
        for seed: UInt64 in [11, 12, 13] {
            for b in [2, 4, 6] {
                let (image, mask, truth) = OCTPhantom.bscan(b, settings: settings, seed: seed)
                // Columns through fluid, where the trap is.
                for x in 0..<image.width where (0..<image.height).contains(where: { mask[$0, x] == 1 || mask[$0, x] == 2 }) {
                    var best = -Float.infinity, row = 0
                    for z in 2..<(image.height - 2) {
                        let g = image[z + 2, x] + image[z + 1, x] - image[z - 1, x] - image[z - 2, x]
                        if g > best { best = g; row = z }
                    }
                    naiveILM += Double(abs(Float(row) - truth.ilm[x])); n += 1
                }
            }
        }
        print(String(format: "naive strongest-edge ILM on fluid columns: mean |error| %.2f rows", naiveILM / n))
        XCTAssertGreaterThan(naiveILM / n, 10, "the phantom should be hard for a naive search")
    }

    func testMinimalPathMatchesBruteForce() {
        var rng = SeededGenerator(seed: 9)
        let w = 4, h = 5
        for _ in 0..<20 {
            let cost = (0..<(w * h)).map { _ in rng.uniform(-1, 1) }
            let lower = (0..<w).map { _ in rng.index(below: 2) }
            let upper = (0..<w).map { _ in 3 + rng.index(below: 2) }
            let path = LayerSegmentation.minimalPath(cost: cost, width: w, height: h, lower: lower, upper: upper, maxJump: 1, jumpPenalty: 0.1)
            func total(_ p: [Int]) -> Float {
                var s: Float = 0
                for x in 0..<w { s += cost[x * h + p[x]]; if x > 0 { s += 0.1 * Float(abs(p[x] - p[x - 1])) } }
                return s
            }
            var best = Float.infinity
            func search(_ p: [Int]) {
                if p.count == w { best = min(best, total(p)); return }
                let x = p.count
                for z in lower[x]...upper[x] where p.isEmpty || abs(z - p[x - 1]) <= 1 { search(p + [z]) }
            }
            search([])
            XCTAssertEqual(total(path), best, accuracy: 1e-5)
            for x in 0..<w { XCTAssert(path[x] >= lower[x] && path[x] <= upper[x]) }
            for x in 1..<w { XCTAssertLessThanOrEqual(abs(path[x] - path[x - 1]), 1) }
        }
    }
}
