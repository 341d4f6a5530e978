// Volume.swift: the voxel layout (x fastest, then y, then z), slices, and
// writes through the subscript, against indices worked out by hand.

import Imaging
import XCTest

final class VolumeTests: XCTestCase {
    func testLayoutIsXThenYThenZ() {
        // 3 wide, 2 high, 2 deep; voxel value = its index.
        var v = Volume(width: 3, height: 2, depth: 2, voxels: (0..<12).map(Float.init))
        XCTAssertEqual(v.sliceCount, 6)
        XCTAssertEqual(v.spacing, SIMD3<Double>(1, 1, 1))
        XCTAssertEqual(v[0, 0, 0], 0)
        XCTAssertEqual(v[2, 0, 0], 2)      // x = 2
        XCTAssertEqual(v[0, 1, 0], 3)      // y = 1: one row of 3 on
        XCTAssertEqual(v[2, 1, 0], 5)
        XCTAssertEqual(v[0, 0, 1], 6)      // z = 1: one slice of 6 on
        XCTAssertEqual(v[1, 1, 1], 10)     // (1 · 2 + 1) · 3 + 1
        XCTAssertEqual(Array(v.slice(0)), [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(Array(v.slice(1)), [6, 7, 8, 9, 10, 11])
        v[1, 0, 1] = -1
        XCTAssertEqual(v.voxels[7], -1)
        XCTAssertNotEqual(v, Volume(width: 3, height: 2, depth: 2, voxels: (0..<12).map(Float.init)))
        XCTAssertEqual(Volume(width: 2, height: 1, depth: 1, spacing: [0.5, 0.25, 2], voxels: [1, 2]).spacing.z, 2)
    }
}
