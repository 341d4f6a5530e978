// Shared test plumbing: a fresh temporary directory per test, and an assertion
// that an error is a FileError naming the expected file and problem.

import Foundation
import Records
import XCTest

/// A new, empty, uniquely named directory under the system's temporary directory.
public func makeTemporaryDirectory(_ prefix: String) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

/// Removes a directory made by `makeTemporaryDirectory` and everything in it.
public func removeTemporaryDirectory(_ dir: URL) { try? FileManager.default.removeItem(at: dir) }

open class TemporaryDirectoryTestCase: XCTestCase {
    /// Created before each test, removed after it.
    public var dir: URL!

    override open func setUpWithError() throws { dir = try makeTemporaryDirectory("\(type(of: self))") }

    override open func tearDownWithError() throws { if let dir { removeTemporaryDirectory(dir) } }

    /// `body` must throw a FileError whose path ends with `file` and whose problem contains `fragment`.
    public func assertFileError(_ body: @autoclosure () throws -> Any, names file: String, _ fragment: String,
                         file testFile: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: testFile, line: line) { error in
            guard let error = error as? FileError else { return XCTFail("not a FileError: \(error)", file: testFile, line: line) }
            XCTAssertTrue(error.path.hasSuffix(file), "error names \(error.path), expected \(file)", file: testFile, line: line)
            XCTAssertTrue(error.problem.contains(fragment), "\(error)", file: testFile, line: line)
        }
    }
}
