// RunDirectory and the score run's run id: FNV-1a against published vectors,
// a run directory replaced whole (never a mix), a failed write leaving the old
// run, files of another run caught on reading, training locks, and leftovers
// of killed processes removed while live ones are kept.

import Foundation
@testable import Records
import TestSupport
import XCTest

final class RunDirectoryTests: TemporaryDirectoryTestCase {
    func testFNV1aMatchesThePublishedVectors() {
        // Test vectors of the FNV reference (Fowler/Noll/Vo), 64-bit FNV-1a.
        XCTAssertEqual(FNV1a.hex(Data()), "cbf29ce484222325")
        XCTAssertEqual(FNV1a.hex(Data("a".utf8)), "af63dc4c8601ec8c")
        XCTAssertEqual(FNV1a.hex(Data("foobar".utf8)), "85944171f73967e8")
        // The tensor fingerprint sees one changed value and the shape.
        let a = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        var b = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(a.fingerprint, b.fingerprint)
        b[5] = 6.0000005
        XCTAssertNotEqual(a.fingerprint, b.fingerprint)
        XCTAssertNotEqual(a.fingerprint, Tensor(shape: [3, 2], values: [1, 2, 3, 4, 5, 6]).fingerprint)
    }

    private func run(_ n: Int, value: Double, trace: Bool) -> ScoreRun {
        let table = ScoreTable(columns: ["R", "D", "A", "P_D"], ids: (0..<n).map { "i\($0)" }, labels: (0..<n).map { $0 % 2 },
                               values: (0..<n).map { i in [value + Double(i), 1, 2, 0.5] })
        let summary = ScoreRun.Summary(checkpoint: "c", patches: "p", architecture: DCGANConfig(latentDimension: 2, imageSize: 16, width: 2),
                                       settings: ScoringSettings(), scores: table, seconds: 1, mappings: 1, threads: 1,
                                       reconstructionsFrom: "feature-matching")
        return ScoreRun(scores: table, summary: summary, residuals: Tensor(shape: [n, 1, 2, 2], values: Array(repeating: Float(value), count: n * 4)),
                        trace: trace ? ScoreRun.Trace(featureMatching: [1, 0.5], reference: nil) : nil)
    }

    private func message(_ body: () throws -> Void) -> String { do { try body(); return "no error" } catch { return "\(error)" } }

    func testARunDirectoryIsReplacedWholeAndAFailedWriteLeavesTheOldRun() throws {
        let out = dir.appendingPathComponent("scores")
        let first = try run(4, value: 10, trace: true).write(to: out)
        let second = try run(6, value: 20, trace: false).write(to: out)
        XCTAssertNotEqual(first, second)
        let back = try ScoreRun.read(from: out)
        XCTAssertEqual(back.summary?.runID, second)
        XCTAssertEqual(back.scores.count, 6)
        XCTAssertNil(back.trace, "the first run's trace.csv is gone with it")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("trace.csv").path))
        // A write that fails half-way leaves the second run as it was, and no temporary sibling.
        struct Boom: Error {}
        XCTAssertThrowsError(try run(2, value: 30, trace: true).write(to: out) { temp in
            try Data("x".utf8).write(to: temp.appendingPathComponent("triplets-partial"))
            throw Boom()
        })
        XCTAssertEqual(try ScoreRun.read(from: out).summary?.runID, second)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), ["scores"])
        // A directory holding anything else is not replaced.
        let other = dir.appendingPathComponent("mine")
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: other.appendingPathComponent("notes.txt"))
        XCTAssertTrue(message { try self.run(2, value: 1, trace: false).write(to: other) }.contains("not a score run"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: other.appendingPathComponent("notes.txt").path))
        // A file in the way, and a read-only parent: one line naming the path.
        let file = dir.appendingPathComponent("file")
        try Data().write(to: file)
        XCTAssertEqual(message { try self.run(2, value: 1, trace: false).write(to: file) }, "\(file.path): is not a directory")
        XCTAssertEqual(message { try self.run(2, value: 1, trace: false).write(to: file.appendingPathComponent("x")) }, "\(file.path): is not a directory")
    }

    func testFilesOfAnotherRunAreCaughtOnReading() throws {
        let a = dir.appendingPathComponent("a"), b = dir.appendingPathComponent("b")
        try run(4, value: 1, trace: false).write(to: a)
        try run(4, value: 2, trace: true).write(to: b)
        func url(_ d: URL, _ name: String) -> URL { d.appendingPathComponent(name) }
        func copy(_ name: String) throws {
            try? FileManager.default.removeItem(at: url(a, name))
            try FileManager.default.copyItem(at: url(b, name), to: url(a, name))
        }
        // The same shapes, so only the run id can tell: scores.csv, residuals.npy, summary.json of run b.
        try copy("scores.csv")
        XCTAssertTrue(message { _ = try ScoreRun.read(from: a) }.hasPrefix("\(url(a, "scores.csv").path): differs from the file run"))
        try run(4, value: 1, trace: false).write(to: a)
        try copy("residuals.npy")
        XCTAssertTrue(message { _ = try ScoreRun.read(from: a) }.hasPrefix("\(url(a, "residuals.npy").path): differs from the file run"))
        try run(4, value: 1, trace: false).write(to: a)
        try copy("summary.json")
        XCTAssertTrue(message { _ = try ScoreRun.read(from: a) }.hasPrefix(url(a, "summary.json").path))
        // files.json of run b with every other file of run a (b's lists a trace.csv that a lacks).
        try run(4, value: 1, trace: false).write(to: a)
        try copy("files.json")
        XCTAssertTrue(message { _ = try ScoreRun.read(from: a) }.hasPrefix("\(url(a, "trace.csv").path): is missing: files.json of run"))
        // A file the run did not write (b's trace).
        try run(4, value: 1, trace: false).write(to: a)
        try copy("trace.csv")
        XCTAssertTrue(message { _ = try ScoreRun.read(from: a) }.contains("trace.csv: is not part of run"))
        // summary.json with a run id but no files.json.
        try run(4, value: 1, trace: false).write(to: a)
        try FileManager.default.removeItem(at: url(a, "files.json"))
        XCTAssertTrue(message { _ = try ScoreRun.read(from: a) }.hasPrefix("\(url(a, "files.json").path): is missing"))
        // The untouched run reads.
        XCTAssertEqual(try ScoreRun.read(from: b).scores.count, 4)
    }

    func testLeftoversOfDeadProcessesAreRemovedAndLiveOnesKept() throws {
        let out = dir.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: out.appendingPathComponent("samples"), withIntermediateDirectories: true)
        // A pid that cannot be running: above the kernel's pid_max (at most 2^22).
        let dead = "99999999", live = "\(getpid())"
        let names = [".run.partial-\(dead)-1", ".run.replaced-\(dead)-2", ".run.partial-\(live)-3", ".other.partial-\(dead)-4"]
        for name in names { try FileManager.default.createDirectory(at: dir.appendingPathComponent(name), withIntermediateDirectories: true) }
        let inside = [".checkpoint.safetensors.tmp-\(dead)-5", ".losses.csv.tmp-\(live)-6", "checkpoint.safetensors", "samples/.epoch-001.png.tmp-\(dead)-7"]
        for name in inside { try Data("x".utf8).write(to: out.appendingPathComponent(name)) }
        let removed = Set(RunDirectory.removeLeftovers(of: out))
        XCTAssertEqual(removed, Set([dir.appendingPathComponent(".run.partial-\(dead)-1").path, dir.appendingPathComponent(".run.replaced-\(dead)-2").path,
                                     out.appendingPathComponent(".checkpoint.safetensors.tmp-\(dead)-5").path,
                                     out.appendingPathComponent("samples/.epoch-001.png.tmp-\(dead)-7").path]))
        for kept in [dir.appendingPathComponent(".run.partial-\(live)-3"), dir.appendingPathComponent(".other.partial-\(dead)-4"),
                     out.appendingPathComponent(".losses.csv.tmp-\(live)-6"), out.appendingPathComponent("checkpoint.safetensors")] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: kept.path), kept.path)
        }
    }

    func testATrainingDirectoryHasOneHolder() throws {
        let out = dir.appendingPathComponent("train")
        var lock: RunDirectory.Lock? = try RunDirectory.Lock(out)
        XCTAssertEqual(try String(contentsOf: out.appendingPathComponent(".anogan.lock"), encoding: .utf8), "\(getpid())\n")
        let refused = message { _ = try RunDirectory.Lock(out) }
        XCTAssertTrue(refused.hasPrefix("\(out.path): is in use by another anogan process (pid \(getpid()))"), refused)
        lock = nil
        XCTAssertNil(lock)
        XCTAssertNoThrow(try RunDirectory.Lock(out))
    }
}
