// Resampling.swift: column counts, linear resampling of a ramp and nearest-neighbour
// resampling of masks, against hand-computed values.

import XCTest
import Imaging
import Records

final class ResamplingTests: XCTestCase {
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
}
