// This process's resident memory as Linux reports it (/proc/self/status): the
// current and the peak resident set, the peak resettable so that each stage of
// the benchmark gets its own. `/usr/bin/time -v`'s "Maximum resident set size"
// is the same VmHWM at exit. Elsewhere (no /proc) the values are nil.

import Foundation

#if os(Linux)
/// glibc's `int malloc_trim(size_t pad)` (not exported by Swift's Glibc module).
@_silgen_name("malloc_trim") private func glibcMallocTrim(_ pad: Int) -> Int32
#endif

public enum ProcessMemory {
    /// Resident set now (VmRSS), in bytes.
    public static var resident: Int? { field("VmRSS:") }

    /// Peak resident set since the process started or since the last `resetPeak` (VmHWM), in bytes.
    public static var peakResident: Int? { field("VmHWM:") }

    /// Starts a new peak at the current resident set (writes 5 to /proc/self/clear_refs); false when not possible.
    /// This also restarts the peak that getrusage, and so `/usr/bin/time -v`, report at exit: for measuring
    /// by hand (one stage's own peak), not in runs whose overall peak is measured from outside.
    @discardableResult
    public static func resetPeak() -> Bool {
        guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? handle.close() }
        return (try? handle.write(contentsOf: Data("5".utf8))) != nil
    }

    /// Hands freed heap memory back to the system (glibc's malloc_trim), so that the resident set
    /// shows what is in use rather than what malloc keeps for later.
    public static func trim() {
        #if os(Linux)
        _ = glibcMallocTrim(0)
        #endif
    }

    private static func field(_ name: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            // "VmHWM:\t  123456 kB"
            let parts = line.dropFirst(name.count).split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let value = parts.first.flatMap({ Int($0) }) else { return nil }
            return value * 1024
        }
        return nil
    }
}
