// Run directories that are never a mix of two runs, and never left half-made:
//
// - A score run is written whole into a temporary sibling (`.NAME.partial-PID-R`)
//   and renamed into place (`RunDirectory.replace`); a run already there is moved
//   aside first (`.NAME.replaced-PID-R`) and removed after. Readers see the old run,
//   nothing (for an instant), or the new run.
// - A training directory is resumed in place, one epoch at a time, so it is held
//   by a lock instead (`RunDirectory.Lock`, flock on `.anogan.lock` with the pid):
//   a second process is refused, and the lock dies with its process.
// - What a killed run leaves (temporary siblings, `.FILE.tmp-PID-R` of atomic
//   writes) is removed at the next start once its process is gone
//   (`RunDirectory.removeLeftovers`).
//
// `FNV1a` fingerprints file contents and training data (what a run id is checked with).

import Foundation

/// 64-bit FNV-1a: a fast, dependency-free content fingerprint (not cryptographic;
/// it catches the wrong file or the wrong data, not an adversary).
public struct FNV1a {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325
    public init() {}

    public mutating func add(_ bytes: UnsafeRawBufferPointer) {
        var h = value
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        value = h
    }

    public mutating func add(_ data: Data) { data.withUnsafeBytes { add($0) } }

    /// 16 lowercase hex digits.
    public var hex: String { String(format: "%016llx", value) }

    public static func hex(_ data: Data) -> String { var f = FNV1a(); f.add(data); return f.hex }

    /// The fingerprint of a whole file, read mapped (FileError naming it when unreadable).
    public static func hex(ofFile url: URL) throws -> String {
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw FileError(url, "cannot read: \(error.localizedDescription)")
        }
        return hex(data)
    }
}

extension Tensor {
    /// FNV-1a of the shape and the float32 values: the same data gives the same
    /// fingerprint wherever it was loaded from.
    public var fingerprint: String {
        var f = FNV1a()
        for d in shape { withUnsafeBytes(of: UInt64(d).littleEndian) { f.add($0) } }
        f.add(UnsafeRawBufferPointer(start: data, count: count * MemoryLayout<Float>.stride))
        return f.hex
    }
}

public enum RunDirectory {
    /// Whether process `pid` still runs (EPERM: it runs under another user).
    public static func isAlive(_ pid: pid_t) -> Bool {
        pid > 0 && (kill(pid, 0) == 0 || errno == EPERM)
    }

    /// Creates `directory` and its parents, or explains in one line naming the path
    /// why not: an ancestor that is not a directory, a read-only or unwritable folder.
    public static func create(_ directory: URL) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw FileError(directory, "is not a directory") }
            return
        }
        // The nearest existing ancestor decides.
        var ancestor = directory.deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: ancestor.path, isDirectory: &isDirectory), ancestor.path != "/" {
            ancestor = ancestor.deletingLastPathComponent()
        }
        guard isDirectory.boolValue else { throw FileError(ancestor, "is not a directory") }
        if access(ancestor.path, W_OK) != 0 {
            throw FileError(ancestor, "cannot create \(directory.lastPathComponent) here: \(String(cString: strerror(errno)))")
        }
        // mkdir each missing level, so the message is the system's (read-only file system, permission denied, …).
        var missing: [URL] = []
        var level = directory
        while level.path != ancestor.path, level.path != "/" { missing.insert(level, at: 0); level = level.deletingLastPathComponent() }
        for url in missing where mkdir(url.path, 0o755) != 0 && errno != EEXIST {
            throw FileError(url, "cannot create directory: \(String(cString: strerror(errno)))")
        }
    }

    /// Checks that `directory` can be written into: exists as a directory and is writable.
    public static func checkWritable(_ directory: URL) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) else {
            throw FileError(directory, "no such directory")
        }
        guard isDirectory.boolValue else { throw FileError(directory, "is not a directory") }
        guard access(directory.path, W_OK) == 0 else { throw FileError(directory, "is not writable: \(String(cString: strerror(errno)))") }
    }

    static func siblingPrefix(_ directory: URL, _ kind: String) -> String { ".\(directory.lastPathComponent).\(kind)-" }
    static let partial = "partial", replaced = "replaced"

    /// The pid in a leftover's name `PREFIXPID-RANDOM` (or `….tmp-PID-RANDOM`).
    static func pid(afterPrefix name: Substring) -> pid_t? {
        name.split(separator: "-", maxSplits: 1).first.flatMap { pid_t($0) }
    }

    /// Removes what killed runs left: temporary siblings of `directory` (in its parent)
    /// and, inside it (and its first-level folders), temporary files of atomic writes,
    /// each only when the process that made it is gone. Returns the paths removed.
    @discardableResult
    public static func removeLeftovers(of directory: URL) -> [String] {
        var removed: [String] = []
        let fm = FileManager.default
        func sweep(_ folder: URL, _ match: (String) -> pid_t?) {
            guard let names = try? fm.contentsOfDirectory(atPath: folder.path) else { return }
            for name in names {
                guard let pid = match(name), !isAlive(pid) else { continue }
                let url = folder.appendingPathComponent(name)
                if (try? fm.removeItem(at: url)) != nil { removed.append(url.path) }
            }
        }
        let parent = directory.deletingLastPathComponent()
        sweep(parent) { name in
            for kind in [partial, replaced] {
                let prefix = siblingPrefix(directory, kind)
                if name.hasPrefix(prefix) { return pid(afterPrefix: name.dropFirst(prefix.count)) }
            }
            return nil
        }
        let tempFile: (String) -> pid_t? = { name in
            guard name.hasPrefix("."), let r = name.range(of: ".tmp-", options: .backwards) else { return nil }
            return pid(afterPrefix: name[r.upperBound...])
        }
        sweep(directory, tempFile)
        if let names = try? fm.contentsOfDirectory(atPath: directory.path) {
            for name in names where !name.hasPrefix(".") {
                var isDirectory: ObjCBool = false
                let url = directory.appendingPathComponent(name)
                if fm.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue { sweep(url, tempFile) }
            }
        }
        return removed
    }

    /// Writes a run into a fresh temporary sibling of `directory` with `write`, then puts it
    /// in place of `directory`. An existing `directory` must be empty or pass `isReplaceable`
    /// (it holds nothing but an earlier run's files); it is moved aside and removed after.
    /// On any error the temporary sibling is removed and `directory` is left as it was.
    public static func replace(_ directory: URL, isReplaceable: (URL) -> Bool, write: (URL) throws -> Void) throws {
        let fm = FileManager.default
        let parent = directory.deletingLastPathComponent()
        try checkReplaceable(directory, isReplaceable: isReplaceable)
        let token = "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let temp = parent.appendingPathComponent(siblingPrefix(directory, partial) + token)
        do {
            try fm.createDirectory(at: temp, withIntermediateDirectories: false)
        } catch {
            throw FileError(parent, "cannot create a temporary run directory here: \(error.localizedDescription)")
        }
        do {
            try write(temp)
            try swapIn(temp, to: directory, token: token)
        } catch {
            try? fm.removeItem(at: temp)
            throw error
        }
    }

    /// Throws unless `replace` could put a new run at `directory`: its parent can be made and
    /// written, and `directory` is absent, empty, or passes `isReplaceable`. Removes leftovers.
    /// (Commands call it before the work, so a bad output fails at once.)
    public static func checkReplaceable(_ directory: URL, isReplaceable: (URL) -> Bool) throws {
        let fm = FileManager.default
        let parent = directory.deletingLastPathComponent()
        try create(parent)
        try checkWritable(parent)
        removeLeftovers(of: directory)
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: directory.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw FileError(directory, "is not a directory") }
            let entries = (try? fm.contentsOfDirectory(atPath: directory.path)) ?? []
            guard entries.isEmpty || isReplaceable(directory) else {
                throw FileError(directory, "holds files that are not a score run; choose an empty or new output directory")
            }
        }
    }

    /// Renames `temp` to `directory`; a directory in the way is moved aside, then removed.
    /// Retried a few times in case a concurrent run puts its own directory in between.
    private static func swapIn(_ temp: URL, to directory: URL, token: String) throws {
        let aside = directory.deletingLastPathComponent().appendingPathComponent(siblingPrefix(directory, replaced) + token)
        for _ in 0..<8 {
            if rename(temp.path, directory.path) == 0 { break }
            guard errno == ENOTEMPTY || errno == EEXIST else {
                throw FileError(directory, "cannot move the new run into place: \(String(cString: strerror(errno)))")
            }
            if rename(directory.path, aside.path) != 0, errno != ENOENT {
                throw FileError(directory, "cannot move the earlier run aside: \(String(cString: strerror(errno)))")
            }
        }
        if FileManager.default.fileExists(atPath: temp.path) {
            throw FileError(directory, "another run kept replacing this directory; try again")
        }
        try? FileManager.default.removeItem(at: aside)
    }

    /// An exclusive hold on a run directory that is written in place (training). Released
    /// when dropped or when the process ends, however it ends.
    public final class Lock {
        public static let fileName = ".anogan.lock"
        public let directory: URL
        private let fd: Int32

        /// Creates `directory` if needed and takes its lock, or throws a FileError naming the
        /// directory and the pid holding it. Leftovers of killed runs are removed once held.
        public init(_ directory: URL) throws {
            try RunDirectory.create(directory)
            let url = directory.appendingPathComponent(Self.fileName)
            while true {
                let fd = open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
                guard fd >= 0 else { throw FileError(directory, "cannot create the lock file \(Self.fileName): \(String(cString: strerror(errno)))") }
                if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                    let holder = String(decoding: (try? Data(contentsOf: url)) ?? Data(), as: UTF8.self)
                        .trimmingCharacters(in: .whitespacesAndNewlines)
                    close(fd)
                    throw FileError(directory, "is in use by another anogan process\(holder.isEmpty ? "" : " (pid \(holder))"); wait for it to finish or choose another output directory")
                }
                // The file may have been removed by its previous holder between open and flock.
                var held = stat(), named = stat()
                if fstat(fd, &held) == 0, stat(url.path, &named) == 0, held.st_ino == named.st_ino, held.st_dev == named.st_dev {
                    let text = "\(getpid())\n"
                    _ = ftruncate(fd, 0)
                    _ = text.withCString { pwrite(fd, $0, strlen($0), 0) }
                    self.fd = fd
                    self.directory = directory
                    break
                }
                close(fd)
            }
            RunDirectory.removeLeftovers(of: directory)
        }

        deinit {
            unlink(directory.appendingPathComponent(Self.fileName).path)
            close(fd)
        }
    }
}
