// Image input validation and the pictures written by train and score.

import Foundation
import XCTest
import Imaging
import NeuralNet
import Records
@testable import AnoGAN

final class InputAndPicturesTests: XCTestCase {
    private func writeNPY(_ t: Tensor) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("anogan-input-\(UUID().uuidString).npy")
        try NPY.write(t, to: url)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func testNPYInputIsValidated() throws {
        let good = Tensor(shape: [2, 1, 16, 16], value: 0.5)
        let input = try ImageInput.load(writeNPY(good))
        XCTAssertEqual(input.count, 2)
        XCTAssertEqual(input.ids, ["0", "1"])
        XCTAssertEqual(input.labels, [nil, nil])

        let nan = good.copy(); nan[300] = .nan
        let url = try writeNPY(nan)
        XCTAssertThrowsError(try ImageInput.load(url)) { XCTAssertEqual("\($0)", "\(url.path): image 1 holds a non-finite value") }
        let bright = good.copy(); bright[3] = 3
        XCTAssertThrowsError(try ImageInput.load(writeNPY(bright))) { XCTAssertTrue("\($0)".contains("holds 3.0, outside [-1, 1]"), "\($0)") }
        XCTAssertThrowsError(try ImageInput.load(writeNPY(Tensor(shape: [2, 16, 16])))) { XCTAssertTrue("\($0)".contains("N×C×S×S"), "\($0)") }
        XCTAssertThrowsError(try ImageInput.load(writeNPY(Tensor(shape: [0, 1, 16, 16])))) { XCTAssertTrue("\($0)".contains("no images"), "\($0)") }
        XCTAssertThrowsError(try ImageInput.load(URL(fileURLWithPath: "/nonexistent/x.npy"))) { XCTAssertTrue("\($0)".contains("no such file"), "\($0)") }
    }

    func testPatchSetInputCarriesLabels() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("anogan-patchset-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try PatchSet(images: Tensor(shape: [3, 1, 16, 16], value: -0.5), labels: [0, 1, -1]).save(to: dir)
        let input = try ImageInput.load(dir)
        XCTAssertEqual(input.labels, [0, 1, nil])
        XCTAssertEqual(input.images.shape, [3, 1, 16, 16])
        XCTAssertEqual(input.source, dir)
        XCTAssertThrowsError(try input.check(fits: Synthetic.config(imageSize: 32))) {
            XCTAssertTrue("\($0)".contains("images are 16×16 but the model takes 32×32"), "\($0)")
        }
    }

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
