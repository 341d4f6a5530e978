// Shared file plumbing: one error type that names the file and the problem,
// and atomic writes (temp file + rename) so an interrupted run never destroys
// earlier output.

import Foundation

/// A problem with a file a user handed us (or one we wrote): missing, corrupt,
/// truncated, the wrong shape. `description` is the one-line message the CLI prints.
public struct FileError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let problem: String

    public init(_ path: String, _ problem: String) {
        self.path = path
        self.problem = problem
    }

    public init(_ url: URL, _ problem: String) { self.init(url.path, problem) }

    public var description: String { "\(path): \(problem)" }
}

extension Data {
    /// Writes to a temporary file beside `url`, then renames it over `url`.
    /// Readers see the old file or the new one, never half of either.
    public func writeAtomically(to url: URL) throws {
        let dir = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let temp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        do {
            try write(to: temp)
            if rename(temp.path, url.path) != 0 {
                throw FileError(url, "cannot rename temporary file into place (errno \(errno))")
            }
        } catch {
            try? FileManager.default.removeItem(at: temp)
            if error is FileError { throw error }
            throw FileError(url, "cannot write: \(error.localizedDescription)")
        }
    }
}

/// Reads a whole file, turning Foundation's errors into a `FileError`. Only regular
/// files are read (a FIFO would block, a device never end), and only up to the
/// memory limit (`MemoryBudget`).
public func readFile(_ url: URL) throws -> Data {
    var info = stat()
    guard stat(url.path, &info) == 0 else {
        throw FileError(url, errno == ENOENT || errno == ENOTDIR ? "no such file" : "cannot read: \(String(cString: strerror(errno)))")
    }
    switch info.st_mode & S_IFMT {
    case S_IFREG: break
    case S_IFDIR: throw FileError(url, "is a directory, not a file")
    case S_IFIFO: throw FileError(url, "is a FIFO (named pipe), not a regular file")
    case S_IFCHR, S_IFBLK: throw FileError(url, "is a device, not a regular file")
    default: throw FileError(url, "is not a regular file")
    }
    try MemoryBudget.check(Int(info.st_size), for: url.path, "reading the file")
    do { return try Data(contentsOf: url) } catch { throw FileError(url, "cannot read: \(error.localizedDescription)") }
}
