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
