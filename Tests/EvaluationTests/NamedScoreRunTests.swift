// NamedScoreRun.swift: loading a score run directory with its patch set — the
// patch set found through the summary's relative path, evaluation-only
// loading, and bad run directories failing with a message naming the file.
// Runs come from TestSupport's SyntheticRun.

import XCTest
import Records
import TestSupport
@testable import Evaluation

final class NamedScoreRunTests: TemporaryDirectoryTestCase {
    func testPatchSetFoundThroughRelativePath() throws {
        let root: URL = dir
        let run = try SyntheticRun.make(in: root, name: "anogan", count: 4, size: 8, seed: 5)
        // A path relative to the run directory (not to the working directory).
        var written = try ScoreRun.read(from: run.directory)
        written.summary!.patches = "../anogan-patches"
        try written.write(to: run.directory)
        XCTAssertEqual(try ScoreRun.read(from: run.directory, parts: []).summary?.patches, "../anogan-patches")
        let loaded = try NamedScoreRun.load(name: "anogan", directory: run.directory)
        XCTAssertEqual(loaded.patches?.count, 4)
        XCTAssertEqual(loaded.patches?.images.array, try PatchSet.load(from: run.patchDirectory).images.array)
        // Evaluation-only loading skips the figure files.
        let light = try NamedScoreRun.load(name: "anogan", directory: run.directory, parts: .evaluation)
        XCTAssertNil(light.features)
        XCTAssertNil(light.reconstructions)
        XCTAssertNotNil(light.residuals)
    }

    func testBadRunDirectoriesNameTheFile() throws {
        let root: URL = dir
        let run = try SyntheticRun.make(in: root, name: "anogan", count: 6, size: 8, seed: 4)
        try SyntheticRun.dropRunID(in: run.directory)  // reach the checks of each file's contents
        func message(_ body: () throws -> Void) -> String { do { try body(); return "no error" } catch { return "\(error)" } }

        XCTAssertEqual(message { _ = try NamedScoreRun.load(name: "x", directory: root.appendingPathComponent("missing")) },
                       "\(root.appendingPathComponent("missing").path): no such score run directory")
        // Residuals for the wrong number of images.
        try NPY.write(Tensor(shape: [5, 1, 8, 8]), to: run.directory.appendingPathComponent("residuals.npy"))
        XCTAssertTrue(message { _ = try NamedScoreRun.load(name: "x", directory: run.directory) }
            .hasPrefix("\(run.directory.appendingPathComponent("residuals.npy").path): shape [5, 1, 8, 8]"))
        try FileManager.default.removeItem(at: run.directory.appendingPathComponent("residuals.npy"))
        // Truncated features.
        try Data([0x93, 0x4E]).write(to: run.directory.appendingPathComponent("features.npy"))
        XCTAssertTrue(message { _ = try NamedScoreRun.load(name: "x", directory: run.directory) }
            .hasPrefix(run.directory.appendingPathComponent("features.npy").path))
        try FileManager.default.removeItem(at: run.directory.appendingPathComponent("features.npy"))
        // Labels that disagree with the patch set.
        var table = run.table
        table.labels[2] = table.labels[2] == 1 ? 0 : 1
        try table.write(to: run.directory.appendingPathComponent("scores.csv"))
        XCTAssertTrue(message { _ = try NamedScoreRun.load(name: "x", directory: run.directory) }.contains("label of image 2"))
        // Without summary.json the run still loads, and the report says what is missing.
        try run.table.write(to: run.directory.appendingPathComponent("scores.csv"))
        try FileManager.default.removeItem(at: run.directory.appendingPathComponent("summary.json"))
        let loaded = try NamedScoreRun.load(name: "anogan", directory: run.directory)
        XCTAssertNil(loaded.patches)
        XCTAssertTrue(loaded.notes.contains { $0.contains("no summary.json") })
        // …and an explicit patch set still works.
        XCTAssertNotNil(try NamedScoreRun.load(name: "anogan", directory: run.directory, patches: run.patchDirectory).patches)
    }
}
