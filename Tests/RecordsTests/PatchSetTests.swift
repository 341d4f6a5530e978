// Patch set tests: a full round trip, and every kind of bad directory rejected
// with an error that names the offending file.

import Foundation
import Records


@testable import Records
import TestSupport
import XCTest

final class PatchSetTests: TemporaryDirectoryTestCase {
    private func sample(n: Int = 3, s: Int = 4) -> PatchSet {
        var rng = SeededGenerator(seed: 7)
        let images = Tensor(shape: [n, 1, s, s], values: (0..<(n * s * s)).map { _ in Float.random(in: -1...1, using: &rng) })
        let masks = Tensor(shape: [n, 1, s, s], values: (0..<(n * s * s)).map { $0 % 3 == 0 ? 1 : 0 })
        return PatchSet(images: images, labels: (0..<n).map { [0, 1, -1][$0 % 3] }, masks: masks,
                        sources: (0..<n).map { PatchSource(volume: "vol\($0)", bscan: $0 * 2, x: $0, y: 10 - $0) },
                        settings: ["patch": "\(s)", "stride": "2"], seed: UInt64.max - 3)
    }

    /// Writes one .npy file into the set directory, replacing what save wrote.
    private func put(_ array: NPYArray, _ name: String) throws {
        try NPY.write(array, to: dir.appendingPathComponent(name))
    }

    private func assertRejected(_ file: String, _ fragment: String, line: UInt = #line) {
        assertFileError(try PatchSet.load(from: dir), names: file, fragment, line: line)
    }

    func testRoundTrip() throws {
        let set = sample()
        try set.save(to: dir)
        let back = try PatchSet.load(from: dir)
        XCTAssertEqual(back.images.shape, [3, 1, 4, 4])
        XCTAssertEqual(back.images.array, set.images.array)
        XCTAssertEqual(back.labels, [0, 1, -1])
        XCTAssertEqual(back.masks?.array, set.masks?.array)
        XCTAssertEqual(back.sources, set.sources)
        XCTAssertEqual(back.settings, set.settings)
        XCTAssertEqual(back.seed, UInt64.max - 3)
        // The files are plain NumPy arrays of the agreed types.
        XCTAssertEqual(try NPY.read(dir.appendingPathComponent("labels.npy")).type, .int64)
        XCTAssertEqual(try NPY.read(dir.appendingPathComponent("masks.npy")).type, .uint8)
        XCTAssertEqual(try NPY.read(dir.appendingPathComponent("images.npy")).type, .float32)
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("manifest.json"))) as? [String: Any]
        XCTAssertEqual(manifest?["format"] as? String, "anogan-patchset")
        XCTAssertEqual(manifest?["count"] as? Int, 3)
        XCTAssertEqual(manifest?["size"] as? Int, 4)
        // Ids come from the sources and are stored; a manifest of an older set (no ids) derives the same.
        XCTAssertEqual(back.ids, ["vol0/0/0/10", "vol1/2/1/9", "vol2/4/2/8"])
        XCTAssertEqual(manifest?["ids"] as? [String], back.ids)
        var old = try JSONDecoder().decode(PatchSet.Manifest.self, from: Data(contentsOf: dir.appendingPathComponent("manifest.json")))
        old.ids = nil
        try JSONEncoder().encode(old).write(to: dir.appendingPathComponent("manifest.json"))
        XCTAssertEqual(try PatchSet.load(from: dir).ids, back.ids)
    }

    func testOptionalPartsAndStaleFiles() throws {
        try sample().save(to: dir)
        let bare = PatchSet(images: Tensor(shape: [2, 1, 2, 2], value: -1))
        try bare.save(to: dir)
        let back = try PatchSet.load(from: dir)
        XCTAssertNil(back.labels)
        XCTAssertNil(back.masks)
        XCTAssertNil(back.sources)
        XCTAssertNil(back.seed)
        // images.npy alone (as written from NumPy) is a valid set.
        try FileManager.default.removeItem(at: dir.appendingPathComponent("manifest.json"))
        XCTAssertEqual(try PatchSet.load(from: dir).count, 2)
    }

    func testSubset() throws {
        let set = sample(n: 4)
        let sub = set.subset([3, 1])
        XCTAssertEqual(sub.count, 2)
        XCTAssertEqual(sub.labels, [set.labels![3], set.labels![1]])
        XCTAssertEqual(sub.images.items(0..<1).array, set.images.items(3..<4).array)
        XCTAssertEqual(sub.masks!.items(1..<2).array, set.masks!.items(1..<2).array)
        XCTAssertEqual(sub.sources, [set.sources![3], set.sources![1]])
        XCTAssertEqual(sub.ids, [set.ids[3], set.ids[1]])
    }

    func testMissingDirectoryAndFiles() throws {
        assertFileError(try PatchSet.load(from: dir.appendingPathComponent("nope")), names: "nope", "no such")
        assertRejected("images.npy", "no such file")
        try Data([0x93, 0x4E, 0x55]).write(to: dir.appendingPathComponent("images.npy"))
        assertRejected("images.npy", "magic")
    }

    func testBadImageShapes() throws {
        try sample().save(to: dir)
        try put(NPYArray(Tensor(shape: [3, 4, 4], value: 0)), "images.npy")
        assertRejected("images.npy", "N×1×S×S")
        try put(NPYArray(Tensor(shape: [3, 2, 4, 4], value: 0)), "images.npy")
        assertRejected("images.npy", "N×1×S×S")
        try put(NPYArray(Tensor(shape: [3, 1, 4, 5], value: 0)), "images.npy")
        assertRejected("images.npy", "N×1×S×S")
        try put(NPYArray(Tensor(shape: [0, 1, 4, 4], value: 0)), "images.npy")
        assertRejected("images.npy", "empty")
        try put(NPYArray(uint8: Array(repeating: 0, count: 48), shape: [3, 1, 4, 4]), "images.npy")
        assertRejected("images.npy", "float32")
    }

    func testBadImageValues() throws {
        try sample().save(to: dir)
        let t = Tensor(shape: [3, 1, 4, 4], value: 0.5)
        t[20] = .nan
        try put(NPYArray(t), "images.npy")
        assertRejected("images.npy", "not finite")
        t[20] = 1.5
        try put(NPYArray(t), "images.npy")
        assertRejected("images.npy", "outside [-1, 1]")
        t[20] = 1.0005  // within tolerance
        try put(NPYArray(t), "images.npy")
        XCTAssertNoThrow(try PatchSet.load(from: dir))
    }

    func testBadLabels() throws {
        try sample().save(to: dir)
        try put(NPYArray(int64: [0, 1], shape: [2]), "labels.npy")
        assertRejected("labels.npy", "2 labels for 3 images")
        try put(NPYArray(int64: [0, 7, 1], shape: [3]), "labels.npy")
        assertRejected("labels.npy", "label 7")
        try put(NPYArray(int64: [0, Int64.max, 1], shape: [3]), "labels.npy")
        assertRejected("labels.npy", "label")
        try put(NPYArray(Tensor(shape: [3], value: 0)), "labels.npy")
        assertRejected("labels.npy", "integers")
    }

    func testBadMasksAndManifest() throws {
        try sample().save(to: dir)
        try put(NPYArray(uint8: Array(repeating: 1, count: 3 * 9), shape: [3, 1, 3, 3]), "masks.npy")
        assertRejected("masks.npy", "shape")

        try sample().save(to: dir)
        let manifestURL = dir.appendingPathComponent("manifest.json")
        let text = try String(contentsOf: manifestURL, encoding: .utf8)
        try text.replacingOccurrences(of: "\"count\" : 3", with: "\"count\" : 5").write(to: manifestURL, atomically: true, encoding: .utf8)
        assertRejected("manifest.json", "manifest says 5")
        try text.replacingOccurrences(of: "anogan-patchset", with: "something-else").write(to: manifestURL, atomically: true, encoding: .utf8)
        assertRejected("manifest.json", "format")
        try "{not json".write(to: manifestURL, atomically: true, encoding: .utf8)
        assertRejected("manifest.json", "not a valid")
    }

    func testSaveValidates() {
        let bad = PatchSet(images: Tensor(shape: [2, 1, 2, 2], value: 3))
        XCTAssertThrowsError(try bad.save(to: dir))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("images.npy").path))
    }

    /// Patch sets refuse duplicate ids and sources whose B-scan has no geometry, naming the manifest.
    func testPatchSetIdsMustBeUnique() throws {
        let images = Tensor(shape: [2, 1, 4, 4])
        let twice = PatchSet(images: images, ids: ["a", "a"])
        assertFileError(try twice.save(to: dir), names: "manifest.json", "id \"a\" is shared by images 0 and 1")
        // Two patches at one position (possible with random draws) get distinct default ids.
        let same = PatchSource(volume: "v", bscan: 1, x: 2, y: 3)
        XCTAssertEqual(PatchSet(images: images, sources: [same, same]).ids, ["v/1/2/3", "v/1/2/3#2"])
        XCTAssertEqual(PatchSet(images: images).ids, ["0", "1"])
        let noGeometry = PatchSet(images: images, sources: [same, same], bscans: [])
        assertFileError(try noGeometry.save(to: dir), names: "manifest.json", "has no geometry")
    }
}
