// Data-set protocol tests: the one-class IDX protocol on tiny hand-built files
// and on the real Fashion-MNIST, and PNG folders as data sets.

import Foundation
@testable import Imaging
import Records
import TestSupport
import XCTest

final class DatasetTests: TemporaryDirectoryTestCase {
    // MARK: One-class IDX

    /// 5 training images (3×2) with labels 1,0,1,2,1 and 3 test images with labels 0,1,2.
    private func writeTinyIDX(gzipTrain: Bool = true) throws {
        let train = IDXArray(shape: [5, 3, 2], values: (0..<30).map { UInt8($0 * 8) })
        let trainData = IDX.encode(train)
        try (gzipTrain ? Gzip.compress(trainData) : trainData)
            .write(to: dir.appendingPathComponent("train-images-idx3-ubyte" + (gzipTrain ? ".gz" : "")))
        try IDX.encode(IDXArray(shape: [5], values: [1, 0, 1, 2, 1])).write(to: dir.appendingPathComponent("train-labels-idx1-ubyte"))
        try IDX.encode(IDXArray(shape: [3, 3, 2], values: (0..<18).map { UInt8(255 - $0) })).write(to: dir.appendingPathComponent("t10k-images-idx3-ubyte"))
        try Gzip.compress(IDX.encode(IDXArray(shape: [3], values: [0, 1, 2]))).write(to: dir.appendingPathComponent("t10k-labels-idx1-ubyte.gz"))
    }

    func testOneClassProtocolOnTinyFiles() throws {
        try writeTinyIDX()
        let (train, test) = try OneClassIDX.load(directory: dir, normalClass: 1, imageSize: 4)
        XCTAssertEqual(train.images.shape, [3, 1, 4, 4])
        XCTAssertEqual(train.labels, [0, 0, 0])
        XCTAssertEqual(train.sources?.map(\.bscan), [0, 2, 4])
        XCTAssertEqual(train.ids, ["train-images-idx3-ubyte/0", "train-images-idx3-ubyte/2", "train-images-idx3-ubyte/4"])
        XCTAssertEqual(test.ids, ["t10k-images-idx3-ubyte/0", "t10k-images-idx3-ubyte/1", "t10k-images-idx3-ubyte/2"])
        XCTAssertEqual(test.labels, [1, 0, 1])
        XCTAssertEqual(test.count, 3)
        // Training image 1 of the set is file image 2: values 48…88 step 8, placed at rows 0…2, columns 1…2.
        for r in 0..<4 {
            for c in 0..<4 {
                let inside = r < 3 && c >= 1 && c < 3
                let expected: Float = inside ? Float((12 + r * 2 + (c - 1)) * 8) / 127.5 - 1 : -1
                XCTAssertEqual(train.images[1, 0, r, c], expected, accuracy: 1e-6, "r\(r) c\(c)")
            }
        }
        XCTAssertEqual(test.images[0, 0, 0, 1], 1, accuracy: 1e-6)  // 255 → 1
        // Limits keep the first images.
        let limited = try OneClassIDX.load(directory: dir, normalClass: 1, trainLimit: 2, testLimit: 1, imageSize: 4)
        XCTAssertEqual(limited.train.count, 2)
        XCTAssertEqual(limited.test.labels, [1])
        // The sets pass the patch set validation and round-trip.
        try limited.test.save(to: dir.appendingPathComponent("set"))
        XCTAssertEqual(try PatchSet.load(from: dir.appendingPathComponent("set")).images.array, limited.test.images.array)
    }

    func testOneClassProtocolRejections() throws {
        assertFileError(try OneClassIDX.load(directory: dir, normalClass: 1), names: dir.lastPathComponent, "no train-images-idx3-ubyte")
        try writeTinyIDX()
        assertFileError(try OneClassIDX.load(directory: dir, normalClass: 7, imageSize: 4), names: "train-labels-idx1-ubyte", "no training images of class 7")
        assertFileError(try OneClassIDX.load(directory: dir, normalClass: 1, imageSize: 2), names: "train-images-idx3-ubyte.gz", "larger than")
        try IDX.encode(IDXArray(shape: [4], values: [1, 1, 1, 1])).write(to: dir.appendingPathComponent("train-labels-idx1-ubyte"))
        assertFileError(try OneClassIDX.load(directory: dir, normalClass: 1, imageSize: 4), names: "train-labels-idx1-ubyte", "4 labels for 5 images")
    }

    func testOneClassProtocolOnFashionMNIST() throws {
        guard FileManager.default.fileExists(atPath: fashionMNIST.appendingPathComponent("t10k-labels-idx1-ubyte.gz").path) else {
            throw XCTSkip("Fashion-MNIST not installed")
        }
        let (train, test) = try OneClassIDX.load(directory: fashionMNIST, normalClass: 3, trainLimit: 20)
        XCTAssertEqual(train.images.shape, [20, 1, 32, 32])
        XCTAssertEqual(test.images.shape, [10000, 1, 32, 32])
        XCTAssertEqual(test.labels?.filter { $0 == 0 }.count, 1000)
        XCTAssertEqual(test.labels?.filter { $0 == 1 }.count, 9000)
        // Against the raw files: train picks are class 3, pixels map 0…255 → −1…1 with a 2-pixel −1 border.
        let trainLabels = try IDX.read(fashionMNIST.appendingPathComponent("train-labels-idx1-ubyte.gz"))
        XCTAssertTrue(train.sources!.allSatisfy { trainLabels.values[$0.bscan] == 3 })
        let raw = try IDX.read(fashionMNIST.appendingPathComponent("t10k-images-idx3-ubyte.gz"))
        let k = 4321
        for (r, c) in [(0, 0), (10, 14), (27, 27), (5, 20)] {
            XCTAssertEqual(test.images[k, 0, r + 2, c + 2], Float(raw.values[k * 784 + r * 28 + c]) / 127.5 - 1, accuracy: 1e-6)
        }
        for i in 0..<32 { XCTAssertEqual(test.images[k, 0, 0, i], -1); XCTAssertEqual(test.images[k, 0, i, 31], -1) }
    }

    // MARK: PNG folders

    private func folder(_ name: String) throws -> URL {
        let url = dir.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    func testImageFolderDataSet() throws {
        let train = try folder("train"), normal = try folder("normal"), anomalous = try folder("anomalous")
        for i in 0..<3 { try PNG.write(width: 2, height: 2, channels: 1, pixels8: [0, 51, 255, UInt8(i)], to: train.appendingPathComponent("\(i).png")) }
        try "not an image".write(to: train.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
        try PNG.write(width: 2, height: 2, gray16: [0, 65535, 13107, 32768], to: normal.appendingPathComponent("n.png"))
        try PNG.write(width: 2, height: 2, channels: 3, pixels8: [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 10, 10], to: anomalous.appendingPathComponent("a10.png"))
        try PNG.write(width: 2, height: 2, channels: 1, pixels8: [1, 2, 3, 4], to: anomalous.appendingPathComponent("a9.png"))
        let (trainSet, testSet) = try ImageFolder.load(train: train, test: [(0, normal), (1, anomalous)])
        XCTAssertEqual(trainSet.images.shape, [3, 1, 2, 2])
        let expected8: [Float] = [0, 51, 255, 2].map { Float($0) / 255 * 2 - 1 }
        for (got, want) in zip(trainSet.images.items(2..<3).array, expected8) { XCTAssertEqual(got, want, accuracy: 1e-6) }
        XCTAssertEqual(testSet.labels, [0, 1, 1])
        XCTAssertEqual(testSet.sources?.map(\.volume), ["normal/n.png", "anomalous/a9.png", "anomalous/a10.png"])
        XCTAssertEqual(testSet.ids, ["normal/n.png", "anomalous/a9.png", "anomalous/a10.png"])
        let n = testSet.images.items(0..<1).array
        let expected16: [Float] = [0, 65535, 13107, 32768].map { Float($0) / 65535 * 2 - 1 }
        for i in 0..<4 { XCTAssertEqual(n[i], expected16[i], accuracy: 1e-6) }
        let a10 = testSet.images.items(2..<3).array
        XCTAssertEqual(a10[0], 2 * 0.299 - 1, accuracy: 1e-5)
        XCTAssertEqual(a10[1], 2 * 0.587 - 1, accuracy: 1e-5)
        XCTAssertEqual(a10[2], 2 * 0.114 - 1, accuracy: 1e-5)
        XCTAssertEqual(ImageFolder.label(named: "anomalous"), 1)
        XCTAssertNil(ImageFolder.label(named: "weird"))
    }

    // MARK: Fitting images to a square

    /// The area average computed directly in 2-D: each output pixel integrates the input over its
    /// footprint, cell by cell (independent of the separable weights under test).
    private func areaAverage(_ x: [Float], width: Int, height: Int, toWidth w: Int, height h: Int) -> [Float] {
        let sx = Double(width) / Double(w), sy = Double(height) / Double(h)
        var out = [Float](repeating: 0, count: w * h)
        for i in 0..<h {
            for j in 0..<w {
                var sum = 0.0
                for r in 0..<height {
                    for c in 0..<width {
                        let oy = max(0, min(Double(i + 1) * sy, Double(r + 1)) - max(Double(i) * sy, Double(r)))
                        let ox = max(0, min(Double(j + 1) * sx, Double(c + 1)) - max(Double(j) * sx, Double(c)))
                        sum += oy * ox * Double(x[r * width + c])
                    }
                }
                out[i * w + j] = Float(sum / (sx * sy))
            }
        }
        return out
    }

    func testAreaWeightsByHand() {
        // 3 inputs onto 2 outputs: each output covers 1.5 inputs.
        let w = SquareFit.weights(from: 3, to: 2)
        XCTAssertEqual(w.map { $0.map(\.index) }, [[0, 1], [1, 2]])
        XCTAssertEqual(w[0].map(\.weight), [2.0 / 3, 1.0 / 3].map(Float.init))
        XCTAssertEqual(w[1].map(\.weight), [1.0 / 3, 2.0 / 3].map(Float.init))
        // An integer ratio averages whole blocks.
        let blocks = SquareFit.shrink((0..<16).map(Float.init), width: 4, height: 4, toWidth: 2, height: 2)
        XCTAssertEqual(blocks, [2.5, 4.5, 10.5, 12.5])
    }

    func testFitShrinksLargeImagesAndPadsSmallOnes() {
        var rng = SystemRandomNumberGenerator()
        // 30 wide, 12 tall onto 8: the longer side becomes 8, the shorter round(12·8/30) = 3, centred.
        let wide = (0..<(30 * 12)).map { _ in Float.random(in: -1...1, using: &rng) }
        let fitted = SquareFit.fit(wide, width: 30, height: 12, to: 8)
        let reference = areaAverage(wide, width: 30, height: 12, toWidth: 8, height: 3)
        for r in 0..<8 {
            for c in 0..<8 {
                let inside = (2..<5).contains(r)
                let want = inside ? reference[(r - 2) * 8 + c] : -1
                XCTAssertEqual(fitted[r * 8 + c], want, accuracy: 1e-5, "r\(r) c\(c)")
            }
        }
        // An image no larger than the square is only padded: its pixels stay as they are.
        let small = (0..<(5 * 3)).map { Float($0) / 15 }
        let padded = SquareFit.fit(small, width: 5, height: 3, to: 8)
        XCTAssertEqual(padded.filter { $0 != -1 }.count, 15)
        XCTAssertEqual(padded[2 * 8 + 1], small[0])   // top (8−3)/2 = 2, left (8−5)/2 = 1
        XCTAssertEqual(padded[4 * 8 + 5], small[14])
    }

    func testImageFolderFitsImagesOfAnySizeToTheModelSide() throws {
        let train = try folder("train"), normal = try folder("normal")
        let big = (0..<(48 * 48)).map { UInt8(($0 % 48) * 5) }   // columns 0, 5, …, 235
        try PNG.write(width: 48, height: 48, channels: 1, pixels8: big, to: train.appendingPathComponent("big.png"))
        try PNG.write(width: 20, height: 12, channels: 1, pixels8: Array(repeating: 255, count: 240),
                      to: train.appendingPathComponent("small.png"))
        try PNG.write(width: 40, height: 64, channels: 1, pixels8: Array(repeating: 0, count: 40 * 64),
                      to: normal.appendingPathComponent("tall.png"))
        let (trainSet, testSet) = try ImageFolder.load(train: train, test: [(0, normal)], imageSize: 16)
        XCTAssertEqual(trainSet.images.shape, [2, 1, 16, 16])
        XCTAssertEqual(testSet.images.shape, [1, 1, 16, 16])
        XCTAssertEqual(trainSet.settings["fittedTo"], "16")
        // big.png, 48 → 16: output column j averages input columns 3j…3j+2, values 5·(3j+1).
        let bigFitted = trainSet.images.items(0..<1).array
        for j in 0..<16 { XCTAssertEqual(bigFitted[7 * 16 + j], Float(5 * (3 * j + 1)) / 255 * 2 - 1, accuracy: 1e-5) }
        // small.png, 20×12: wider than 16, so it shrinks to 16×10 (round(12·16/20)) of white, rows 3…12.
        let smallFitted = trainSet.images.items(1..<2).array
        XCTAssertEqual(smallFitted.filter { abs($0 - 1) < 1e-5 }.count, 16 * 10)
        XCTAssertEqual(smallFitted[2 * 16], -1)
        XCTAssertEqual(smallFitted[3 * 16], 1, accuracy: 1e-5)
        // tall.png, 40×64 → 10×16 of black (−1) on the −1 canvas.
        XCTAssertTrue(testSet.images.array.allSatisfy { $0 == -1 })
        // Without a size, a non-square image is still an error naming the file, and saying what fixes it.
        assertFileError(try ImageFolder.load(train: train, test: [(0, normal)]), names: "small.png", "give an image size")
    }

    func testImageFolderRejections() throws {
        let train = try folder("train"), test = try folder("test"), empty = try folder("empty")
        try PNG.write(width: 4, height: 4, channels: 1, pixels8: Array(repeating: 9, count: 16), to: train.appendingPathComponent("a.png"))
        try PNG.write(width: 2, height: 2, channels: 1, pixels8: [1, 2, 3, 4], to: test.appendingPathComponent("small.png"))
        assertFileError(try ImageFolder.load(train: train, test: [(1, test)]), names: "small.png", "the data set's images are 4×4")
        try PNG.write(width: 4, height: 2, channels: 1, pixels8: Array(repeating: 0, count: 8), to: train.appendingPathComponent("b.png"))
        assertFileError(try ImageFolder.read(directory: train, label: 0), names: "b.png", "square")
        try FileManager.default.removeItem(at: train.appendingPathComponent("b.png"))
        try PNG.write(width: 2, height: 2, channels: 1, pixels8: [1, 2, 3, 4], to: train.appendingPathComponent("c.png"))
        assertFileError(try ImageFolder.read(directory: train, label: 0), names: "c.png", "but a.png is 4×4")
        assertFileError(try ImageFolder.read(directory: empty, label: 0), names: "empty", "no .png images")
        assertFileError(try ImageFolder.read(directory: dir.appendingPathComponent("nope"), label: 0), names: "nope", "no such directory")
        try Data("garbage".utf8).write(to: empty.appendingPathComponent("x.png"))
        assertFileError(try ImageFolder.read(directory: empty, label: 0), names: "x.png", "cannot read PNG")
    }
}
