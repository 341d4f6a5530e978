// FileIO.swift: atomic writes (directories created, the old file replaced, no
// temporary file left behind, even when the rename fails) and FileError's
// one-line message.

import Foundation
import Records
import TestSupport
import XCTest

final class FileIOTests: TemporaryDirectoryTestCase {
    private func listing(_ url: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: url.path).sorted()   // hidden files included
    }

    func testAtomicWriteCreatesDirectoriesAndLeavesNoTemporaryFile() throws {
        let url = dir.appendingPathComponent("a/b/out.bin")
        try Data([1, 2, 3]).writeAtomically(to: url)
        XCTAssertEqual([UInt8](try Data(contentsOf: url)), [1, 2, 3])
        XCTAssertEqual(try listing(url.deletingLastPathComponent()), ["out.bin"])
    }

    func testAtomicWriteReplacesTheOldFile() throws {
        let url = dir.appendingPathComponent("scores.csv")
        try Data("old contents, longer than the new\n".utf8).writeAtomically(to: url)
        try Data("new\n".utf8).writeAtomically(to: url)
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), "new\n")
        XCTAssertEqual(try listing(dir), ["scores.csv"])
    }

    /// A directory where the file should go: the rename fails, the error names the
    /// file, and the temporary file is removed.
    func testFailedWriteNamesTheFileAndLeavesNoTemporaryFile() throws {
        let url = dir.appendingPathComponent("taken")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        try Data([7]).write(to: url.appendingPathComponent("inside"))
        assertFileError(try Data([1]).writeAtomically(to: url), names: "taken", "cannot rename temporary file into place")
        XCTAssertEqual(try listing(dir), ["taken"])
        XCTAssertEqual(try listing(url), ["inside"])
    }

    func testFileErrorIsOneLineNamingFileAndProblem() {
        XCTAssertEqual("\(FileError("/x/a.npy", "truncated"))", "/x/a.npy: truncated")
        let e = FileError(URL(fileURLWithPath: "/x/b.npy"), "corrupt")
        XCTAssertEqual(e.path, "/x/b.npy")
        XCTAssertEqual(e.description, "/x/b.npy: corrupt")
    }
}
