// The one memory limit every reader checks before it allocates or decompresses:
// a file's header says how large its contents will be, and a small hostile
// file (a 100 KB volume whose resampling would take 90 GB, a 128 KB checkpoint
// declaring a huge network, a gzip bomb) must be refused with a one-line error
// instead of exhausting the machine. The readers compute the bytes from the
// header with overflow-checked arithmetic (`MemoryBudget.product`) and call
// `MemoryBudget.check` before touching them.

import Foundation

public enum MemoryBudget {
    /// The setting that raises (or lowers) the limit: bytes, or a number with a
    /// K/M/G/T suffix (powers of 1024), e.g. `ANOGAN_MEMORY_LIMIT=16G`.
    public static let environmentVariable = "ANOGAN_MEMORY_LIMIT"

    /// A limit for the current task (tests, fuzzing); nil uses the environment or the machine default.
    @TaskLocal public static var override: Int?

    /// A quarter of physical memory (sysconf), at least 256 MiB: room for the
    /// decoded data and its working copies beside everything else on the machine.
    public static var machineDefault: Int {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), pageSize = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, pageSize > 0 else { return 1 << 30 }
        let (physical, overflow) = pages.multipliedReportingOverflow(by: pageSize)
        return max(256 << 20, (overflow ? Int.max : physical) / 4)
    }

    /// The limit in bytes: `override`, else `ANOGAN_MEMORY_LIMIT`, else `machineDefault`.
    /// A malformed `ANOGAN_MEMORY_LIMIT` throws rather than being silently ignored.
    public static func limit() throws -> Int {
        if let override { return override }
        guard let text = ProcessInfo.processInfo.environment[environmentVariable] else { return machineDefault }
        guard let bytes = parse(text) else {
            throw FileError(environmentVariable, "\"\(text)\" is not a byte count (write e.g. 8000000000 or 8G)")
        }
        return bytes
    }

    /// "123", "512M", "8G", "1.5T", "16GB" → bytes (powers of 1024); nil for anything else.
    public static func parse(_ text: String) -> Int? {
        var s = text.trimmingCharacters(in: .whitespaces).uppercased()
        if s.hasSuffix("B") && s.count > 1 && !(s.dropLast().last?.isNumber ?? true) { s.removeLast() }
        let scales: [Character: Double] = ["K": 0x1p10, "M": 0x1p20, "G": 0x1p30, "T": 0x1p40]
        var scale = 1.0
        if let last = s.last, let unit = scales[last] { scale = unit; s.removeLast() }
        guard let value = Double(s), value.isFinite, value > 0 else { return nil }
        let bytes = (value * scale).rounded(.down)
        guard bytes >= 1, bytes < 0x1p62 else { return nil }
        return Int(bytes)
    }

    /// Throws a `FileError` naming `path` when `bytes` (nil: overflowed Int) exceed the limit.
    /// `what` says what needs the memory ("the voxels", "resampling B-scan 3 to 2000000 columns").
    public static func check(_ bytes: Int?, for path: String, _ what: String) throws {
        let limit = try limit()
        guard let bytes else {
            throw FileError(path, "\(what) would need more bytes than this machine can address; refused (limit \(describe(limit)), setting \(environmentVariable))")
        }
        guard bytes <= limit else {
            throw FileError(path, "\(what) would need \(describe(bytes)), above the memory limit of \(describe(limit)); raise it with the setting \(environmentVariable) (e.g. \(environmentVariable)=\(suggestion(bytes)))")
        }
    }

    /// The product of `factors`, or nil on a negative factor or Int overflow.
    public static func product(_ factors: [Int]) -> Int? {
        var p = 1
        for f in factors {
            guard f >= 0 else { return nil }
            let (q, overflow) = p.multipliedReportingOverflow(by: f)
            guard !overflow else { return nil }
            p = q
        }
        return p
    }

    /// The sum of `terms`, or nil when one is nil or the sum overflows.
    public static func sum(_ terms: [Int?]) -> Int? {
        var s = 0
        for t in terms {
            guard let t else { return nil }
            let (u, overflow) = s.addingReportingOverflow(t)
            guard !overflow else { return nil }
            s = u
        }
        return s
    }

    /// "1.5 GB" (powers of 1000 for reading; the exact count follows in bytes when small).
    public static func describe(_ bytes: Int) -> String {
        let units = ["bytes", "KB", "MB", "GB", "TB", "PB", "EB"]
        var value = Double(bytes), unit = 0
        while value >= 1000 && unit < units.count - 1 { value /= 1000; unit += 1 }
        return unit == 0 ? "\(bytes) bytes" : "\(String(format: "%.1f", value)) \(units[unit])"
    }

    /// A setting value comfortably above `bytes`, in whole GiB.
    static func suggestion(_ bytes: Int) -> String {
        "\(Int((Double(bytes) / 0x1p30).rounded(.up)) + 1)G"
    }
}
