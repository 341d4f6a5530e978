// Flattening.swift: flattening on the phantom's true boundaries makes Bruch's
// membrane straight and moves pixels and labels with their column's offset.

import XCTest
import Imaging
import Records

final class FlatteningTests: XCTestCase {
    let settings = OCTPhantomSettings.halfResolution

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
}
