// Input discovery of `prepare`: volumes of a directory in numeric order without
// their masks, masks found beside volumes, explicit masks kept, empty or
// missing directories named; the prepared patches match a direct call.

import Foundation
import Imaging
import Records
import TestSupport
@testable import Workflows
import XCTest

final class PreparationTests: TemporaryDirectoryTestCase {
    func touch(_ name: String) throws -> URL {
        let url = dir.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data().write(to: url)
        return url
    }

    func testDiscoveryFindsVolumesInOrderWithTheirMasks() throws {
        let v10 = try touch("vols/scan_10.mha"), v2 = try touch("vols/scan_2.mhd"), m2 = try touch("vols/scan_2_mask.mha")
        _ = try touch("vols/notes.txt")
        let single = try touch("one/x.mha"), explicit = try touch("one/other.mha")
        let png = dir.appendingPathComponent("pngs")
        let sources = try discoverOCTSources([.directory(dir.appendingPathComponent("vols")), .volume(single, mask: explicit),
                                              .volume(v10, mask: nil), .bscanFolder(png, masks: nil)])
        XCTAssertEqual(sources.map(\.scan.standardizedFileURL.path), [v2, v10, single, v10, png].map(\.standardizedFileURL.path))
        XCTAssertEqual(sources.map { $0.mask?.standardizedFileURL.path }, [m2, nil, explicit, nil, nil].map { $0?.standardizedFileURL.path })
        XCTAssertEqual(sources.map(\.name), ["scan_2.mhd", "scan_10.mha", "x.mha", "scan_10.mha", "pngs"])
        XCTAssertEqual(sources.map(\.scan.lastPathComponent), ["scan_2.mhd", "scan_10.mha", "x.mha", "scan_10.mha", "pngs"])
        XCTAssertEqual(sources.map { $0.mask?.lastPathComponent }, ["scan_2_mask.mha", nil, "other.mha", nil, nil])
        XCTAssertEqual(sources.map(\.kind), [.metaImage, .metaImage, .metaImage, .metaImage, .pngFolder])
    }

    func testEmptyAndMissingDirectoriesAreNamed() throws {
        let empty = dir.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        _ = try touch("empty/only_mask.mha")
        assertFileError(try discoverOCTSources([.directory(empty)]), names: "empty", "no .mha/.mhd volumes")
        assertFileError(try discoverOCTSources([.directory(dir.appendingPathComponent("nowhere"))]), names: "nowhere", "cannot list")
    }

    func testPreparingAPhantomGivesTheSamePatchesAsTheLibraryCall() throws {
        let phantom = OCTPhantom.generate(OCTPhantomSettings(width: 128, height: 128, bscans: 2, spacingX: 6000.0 / 128, diseased: true), seed: 4)
        let files = try phantom.write(to: dir, name: "d", png: false)
        var settings = OCTPreparationSettings()
        settings.preprocessing.patchSize = 16
        settings.preprocessing.patchesPerBScan = 3
        settings.unmaskedLabel = 0
        let set = try prepareOCT(try discoverOCTSources([.volume(files.scan, mask: nil)]), settings: settings, log: { _ in })

        var rng = SeededGenerator(seed: settings.seed)
        var collector = OCTPatchCollector(size: 16)
        try OCTPreprocessing.addPatches(from: try MetaImage.read(files.scan), mask: try MetaImage.read(files.mask),
                                        name: "d.mha", settings: settings.preprocessing, unmaskedLabel: 0, using: &rng, into: &collector)
        XCTAssertEqual(set.count, 6)
        XCTAssertEqual(set.images.array, collector.patchSet(settings: [:], seed: 1).images.array)
        XCTAssertEqual(set.labels, collector.labels, "the mask beside the volume was used")

        settings.preprocessing.patchSize = 7
        XCTAssertThrowsError(try prepareOCT([], settings: settings, log: { _ in })) { error in
            XCTAssertTrue("\(error)".contains("preprocessing.patchSize"), "\(error)")
        }
    }
}
