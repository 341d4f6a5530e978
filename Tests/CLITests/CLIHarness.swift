// The subprocess harness of the CLI tests: runs the built `anogan` on files in
// a fresh temporary directory (never a hang: a timeout fails the test), asserts
// clean one-line failures, and writes fixtures without the library (an
// independent .npy writer).

import Foundation
import Records
import TestSupport
import XCTest

/// Result of one `anogan` run.
struct CLIRun {
    var status: Int32
    var crashed: Bool
    var stdout: String
    var stderr: String

    /// stderr without blank lines.
    var errorLines: [Substring] { stderr.split(separator: "\n", omittingEmptySubsequences: true) }
}

class CLITestCase: XCTestCase {
    /// Kill a run after this long and fail: the team's rule is "never a hang".
    static let timeout: TimeInterval = 60

    /// The built `anogan` next to the test bundle (Linux: Bundle.main is the
    /// products directory's xctest runner; macOS: the bundle's parent).
    static let binary: URL? = {
        var candidates = [Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent()]
        for bundle in Bundle.allBundles where bundle.bundleURL.pathExtension == "xctest" {
            candidates += [bundle.bundleURL.deletingLastPathComponent()]
        }
        for dir in candidates {
            let url = dir.appendingPathComponent("anogan")
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), !isDir.boolValue,
               FileManager.default.isExecutableFile(atPath: url.path) {
                return url
            }
        }
        return nil
    }()

    var dir: URL!

    override func setUpWithError() throws {
        guard Self.binary != nil else {
            throw XCTSkip("the anogan executable is not built next to the tests (run `swift build --build-tests`)")
        }
        dir = try makeTemporaryDirectory("anogan-cli")
    }

    override func tearDownWithError() throws {
        if let dir { removeTemporaryDirectory(dir) }
    }

    // MARK: - Running the binary

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// Runs `anogan args…` in the temp directory; fails the test on a timeout.
    func run(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> CLIRun {
        let process = Process()
        process.executableURL = Self.binary!
        process.arguments = args
        process.currentDirectoryURL = dir
        var environment = ProcessInfo.processInfo.environment
        environment["OMP_NUM_THREADS"] = "1"
        process.environment = environment
        // Files, not pipes: a chatty child cannot block on a full pipe.
        let id = UUID().uuidString
        let outURL = dir.appendingPathComponent(".stdout-\(id)"), errURL = dir.appendingPathComponent(".stderr-\(id)")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let done = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in done.signal() }
        try process.run()
        if done.wait(timeout: .now() + Self.timeout) == .timedOut {
            process.terminate()
            _ = done.wait(timeout: .now() + 5)
            XCTFail("anogan \(args.joined(separator: " ")) did not finish within \(Int(Self.timeout)) s", file: file, line: line)
        }
        try out.close(); try err.close()
        let stdout = String(decoding: try Data(contentsOf: outURL), as: UTF8.self)
        let stderr = String(decoding: try Data(contentsOf: errURL), as: UTF8.self)
        return CLIRun(status: process.terminationStatus, crashed: process.terminationReason == .uncaughtSignal,
                      stdout: stdout, stderr: stderr)
    }

    /// Runs and asserts a clean failure: no crash, exit `status` (any non-zero
    /// when nil), the first stderr line is "Error: …" and mentions every string
    /// in `mentions`; a runtime error (exit 1) is that one line only.
    @discardableResult
    func assertFails(_ args: [String], status: Int32? = nil, mentions: [String],
                     file: StaticString = #filePath, line: UInt = #line) throws -> CLIRun {
        let result = try run(args, file: file, line: line)
        let command = "anogan " + args.joined(separator: " ")
        XCTAssertFalse(result.crashed, "\(command) crashed (signal \(result.status)):\n\(result.stderr)", file: file, line: line)
        XCTAssertNotEqual(result.status, 0, "\(command) exited 0 on bad input", file: file, line: line)
        if let status { XCTAssertEqual(result.status, status, "\(command): exit status\n\(result.stderr)", file: file, line: line) }
        for marker in ["Fatal error", "Stack dump", "Backtrace", "Current stack trace"] {
            XCTAssertFalse(result.stderr.contains(marker), "\(command) printed a crash report:\n\(result.stderr)", file: file, line: line)
        }
        let lines = result.errorLines
        guard let first = lines.first else {
            XCTFail("\(command): nothing on stderr", file: file, line: line)
            return result
        }
        XCTAssertTrue(first.hasPrefix("Error: "), "\(command): first stderr line is not an error: \(first)", file: file, line: line)
        for text in mentions {
            XCTAssertTrue(first.contains(text), "\(command): error line does not mention \(text): \(first)", file: file, line: line)
        }
        if result.status == 1 {
            XCTAssertEqual(lines.count, 1, "\(command): the error is not one line:\n\(result.stderr)", file: file, line: line)
        }
        return result
    }

    // MARK: - Fixtures, written without the library (an independent .npy writer)

    /// A version-1.0 .npy of little-endian float32 with `shape`.
    func npy(_ values: [Float], shape: [Int]) -> Data {
        let dims = shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? "," : "")
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(dims)), }"
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let length = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        data.append(contentsOf: Array(header.utf8))
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        return data
    }

    /// `count` images of size×size in [-1, 1] (a deterministic pattern).
    func images(_ count: Int, size: Int) -> [Float] {
        (0..<(count * size * size)).map { Float(($0 * 37) % 201) / 100 - 1 }
    }

    @discardableResult
    func write(_ data: Data, _ name: String) throws -> String {
        try data.write(to: dir.appendingPathComponent(name))
        return path(name)
    }

    func randomBytes(_ count: Int) -> Data {
        var g = SystemRandomNumberGenerator()
        return Data((0..<count).map { _ in UInt8.random(in: 0...255, using: &g) })
    }

    /// A real checkpoint of a tiny 16×16 model, width 2 (one epoch on 4 images).
    func trainTinyCheckpoint() throws -> String {
        let data = try write(npy(images(4, size: 16), shape: [4, 1, 16, 16]), "train.npy")
        let result = try run(["train", "--data", data, "--out", path("run"), "--epochs", "1", "--width", "2", "--batch-size", "2"])
        XCTAssertEqual(result.status, 0, "training the tiny model failed:\n\(result.stderr)")
        let checkpoint = path("run/checkpoint.safetensors")
        guard FileManager.default.fileExists(atPath: checkpoint) else { throw XCTSkip("no checkpoint to score with") }
        return checkpoint
    }

}
