// ImageInput.swift: image input validation (.npy arrays and patch sets) with
// one-line errors naming the file and the problem.

import Foundation
import XCTest
import Imaging
import NeuralNet
import Records
import TestSupport
@testable import AnoGAN

final class ImageInputTests: TemporaryDirectoryTestCase {
    private func writeNPY(_ t: Tensor) throws -> URL {
        let url = dir.appendingPathComponent("input-\(UUID().uuidString).npy")
        try NPY.write(t, to: url)
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
        let dir = self.dir.appendingPathComponent("patchset")
        try PatchSet(images: Tensor(shape: [3, 1, 16, 16], value: -0.5), labels: [0, 1, -1]).save(to: dir)
        let input = try ImageInput.load(dir)
        XCTAssertEqual(input.labels, [0, 1, nil])
        XCTAssertEqual(input.images.shape, [3, 1, 16, 16])
        XCTAssertEqual(input.source, dir)
        XCTAssertThrowsError(try input.check(fits: Synthetic.config(imageSize: 32))) {
            XCTAssertTrue("\($0)".contains("images are 16×16 but the model takes 32×32"), "\($0)")
        }
    }

    /// Colour images and colour models are refused with a message naming the fix, never scored
    /// (score runs, residual maps and pictures are one grey channel).
    func testColourImagesAndModelsAreRefused() throws {
        let url = try writeNPY(Tensor(shape: [2, 3, 16, 16], value: 0))
        let colour = try ImageInput.load(url)
        XCTAssertThrowsError(try colour.check(fits: Synthetic.config(imageSize: 16))) {
            XCTAssertEqual("\($0)", "\(url.path): images have 3 channels; anogan reads grey images (N×1×S×S): convert them to grey")
        }
        var model = Synthetic.config(imageSize: 16)
        model.channels = 3
        let grey = try ImageInput.load(writeNPY(Tensor(shape: [2, 1, 16, 16], value: 0)))
        XCTAssertThrowsError(try grey.check(fits: model)) { XCTAssertTrue("\($0)".contains("the model has 3 channels"), "\($0)") }
        XCTAssertThrowsError(try model.validateLimits()) {
            XCTAssertEqual("\($0)", "architecture.channels must be 1: anogan's images, scores and pictures are grey, got 3")
        }
        model.channels = 1
        XCTAssertNoThrow(try model.validateLimits())
        XCTAssertNoThrow(try grey.check(fits: model))
    }

    /// Duplicate ids are refused, naming the source.
    func testDuplicateIDsAreRefused() throws {
        let input = ImageInput(images: Tensor(shape: [3, 1, 16, 16]), ids: ["x", "y", "x"], source: URL(fileURLWithPath: "/data/q.npy"))
        XCTAssertThrowsError(try input.validate()) { error in
            XCTAssertEqual("\(error)", "/data/q.npy: id \"x\" is shared by images 0 and 2; ids must be unique")
        }
    }
}
