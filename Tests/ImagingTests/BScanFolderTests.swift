// BScanFolder.swift: a folder of B-scan PNGs as one volume (numeric name order,
// 16-bit values kept, colour reduced with Rec. 601 luma), masks by file name, and
// the rejections naming the file.

import Foundation
@testable import Imaging
import Records
import TestSupport
import XCTest

final class BScanFolderTests: TemporaryDirectoryTestCase {
    private func folder(_ name: String) throws -> URL {
        let url = dir.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    func testBScanFolderWithMasks() throws {
        let scans = try folder("scans"), masks = try folder("masks")
        // Name order must be numeric: b1, b2, b10.
        for (name, v) in [("b10", 30), ("b1", 10), ("b2", 20)] {
            try PNG.write(width: 3, height: 2, gray16: (0..<6).map { UInt16(v * 100 + $0) }, to: scans.appendingPathComponent("\(name).png"))
        }
        try PNG.write(width: 3, height: 2, channels: 1, pixels8: [0, 0, 255, 1, 0, 0], to: masks.appendingPathComponent("b2.png"))
        let folder = try BScanFolder.read(directory: scans, masks: masks)
        XCTAssertEqual(folder.names, ["b1.png", "b2.png", "b10.png"])
        XCTAssertEqual(folder.bitDepth, 16)
        XCTAssertEqual([folder.volume.width, folder.volume.height, folder.volume.depth], [3, 2, 3])
        XCTAssertEqual(folder.volume[1, 1, 2], 3004)
        XCTAssertEqual(Array(folder.volume.slice(0)), (0..<6).map { Float(1000 + $0) })
        let m = try XCTUnwrap(folder.masks)
        XCTAssertEqual(Array(m.slice(1)), [0, 0, 1, 1, 0, 0])
        XCTAssertEqual(m.slice(0).reduce(0, +) + m.slice(2).reduce(0, +), 0)
        XCTAssertNil(try BScanFolder.read(directory: scans, masks: nil).masks)
    }

    func testBScanFolderRejections() throws {
        let scans = try folder("scans"), masks = try folder("masks")
        try PNG.write(width: 3, height: 2, channels: 1, pixels8: Array(repeating: 5, count: 6), to: scans.appendingPathComponent("1.png"))
        try PNG.write(width: 3, height: 2, channels: 1, pixels8: Array(repeating: 5, count: 6), to: masks.appendingPathComponent("7.png"))
        assertFileError(try BScanFolder.read(directory: scans, masks: masks), names: "7.png", "matches no B-scan")
        try FileManager.default.removeItem(at: masks.appendingPathComponent("7.png"))
        try PNG.write(width: 2, height: 2, channels: 1, pixels8: [1, 1, 1, 1], to: masks.appendingPathComponent("1.png"))
        assertFileError(try BScanFolder.read(directory: scans, masks: masks), names: "masks/1.png", "mask is 2×2")
        try PNG.write(width: 3, height: 2, gray16: Array(repeating: 5, count: 6), to: scans.appendingPathComponent("2.png"))
        assertFileError(try BScanFolder.read(directory: scans, masks: nil), names: "2.png", "16-bit")
        try PNG.write(width: 3, height: 3, channels: 1, pixels8: Array(repeating: 5, count: 9), to: scans.appendingPathComponent("2.png"))
        assertFileError(try BScanFolder.read(directory: scans, masks: nil), names: "2.png", "3×3")
    }

    /// 8-bit colour: grey = 0.299 R + 0.587 G + 0.114 B in 0…255 units, rounded;
    /// empty folders are refused, naming the folder.
    func testColourBScansAreReducedToLumaAndEmptyFoldersRefused() throws {
        let scans = try folder("rgb"), empty = try folder("empty")
        // (255, 0, 0) → 76.245 → 76; (10, 20, 30) → 2.99 + 11.74 + 3.42 = 18.15 → 18.
        try PNG.write(width: 2, height: 1, channels: 3, pixels8: [255, 0, 0, 10, 20, 30], to: scans.appendingPathComponent("0.png"))
        let colour = try BScanFolder.read(directory: scans, masks: nil)
        XCTAssertEqual(colour.bitDepth, 8)
        XCTAssertEqual(colour.volume.voxels, [76, 18])
        assertFileError(try BScanFolder.read(directory: empty, masks: nil), names: "empty", "no .png B-scans in this directory")
        assertFileError(try BScanFolder.read(directory: scans, masks: empty), names: "empty", "no .png masks in this directory")
    }
}
