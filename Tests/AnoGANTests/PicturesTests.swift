// Pictures.swift: the pictures written by train (sample grids) and score
// (query, reconstruction, residual triplets), pixel by pixel.

import XCTest
import Records
@testable import AnoGAN

final class PicturesTests: XCTestCase {
    func testGridPlacesTilesRowByRow() {
        let images = Tensor(shape: [3, 1, 2, 2])
        for i in 0..<4 { images[i] = -1; images[4 + i] = 1; images[8 + i] = 0 }
        let p = Pictures.grid(images, columns: 2, padding: 1)
        XCTAssertEqual(p.width, 2 * 2 + 3)
        XCTAssertEqual(p.height, 2 * 2 + 3)
        XCTAssertEqual(p.pixels[1 * 7 + 1], 0)       // image 0 at (1,1): -1 → 0
        XCTAssertEqual(p.pixels[1 * 7 + 4], 255)     // image 1 at (1,4): +1 → 255
        XCTAssertEqual(p.pixels[4 * 7 + 1], 128)     // image 2 at (4,1): 0 → 127.5 rounds to 128
        XCTAssertEqual(p.pixels[0], 128)             // padding
        XCTAssertEqual(p.pixels[4 * 7 + 5], 128)     // empty fourth tile
    }

    func testTripletShowsQueryReconstructionAndRedResidual() {
        let q = Tensor(shape: [1, 1, 1, 2], values: [-1, 1])
        let r = Tensor(shape: [1, 1, 1, 2], values: [-1, 0])
        let p = Pictures.triplet(query: q, reconstruction: r, index: 0, scale: 2)
        XCTAssertEqual(p.width, 12)
        XCTAssertEqual(p.height, 2)
        func rgb(_ x: Int, _ y: Int) -> [UInt8] { Array(p.pixels[(y * 12 + x) * 3..<(y * 12 + x) * 3 + 3]) }
        XCTAssertEqual(rgb(0, 0), [0, 0, 0])            // query pixel 0
        XCTAssertEqual(rgb(3, 1), [255, 255, 255])      // query pixel 1, scaled
        XCTAssertEqual(rgb(4, 0), [0, 0, 0])            // reconstruction pixel 0 (panels are 4 wide)
        XCTAssertEqual(rgb(5, 1), [0, 0, 0])
        XCTAssertEqual(rgb(6, 0), [128, 128, 128])      // reconstruction pixel 1 = 0
        XCTAssertEqual(rgb(8, 0), [0, 0, 0])            // overlay, residual 0: the query's gray
        XCTAssertEqual(rgb(11, 0), [255, 0, 0])         // overlay, residual 1: full red
    }
}
