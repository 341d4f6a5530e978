// Progress for long work: a bar with rate and ETA on a terminal, plain lines
// (one every few seconds) when the output is a file or a pipe, so logs stay readable.

import Foundation

/// Reports progress of `total` units of work on standard error.
public final class Progress: @unchecked Sendable {
    public let label: String
    public let total: Int
    public let unit: String
    private let start = Date()
    private var lastPrint = Date.distantPast
    private let interactive: Bool
    private let plainInterval: TimeInterval

    /// - Parameters:
    ///   - label: what is being done, e.g. "train".
    ///   - total: units of work in all (steps, images).
    ///   - unit: name of a unit for the rate, e.g. "img".
    ///   - plainInterval: seconds between lines when not on a terminal.
    public init(_ label: String, total: Int, unit: String = "it", plainInterval: TimeInterval = 5) {
        self.label = label
        self.total = max(total, 1)
        self.unit = unit
        self.plainInterval = plainInterval
        interactive = isatty(STDERR_FILENO) == 1 && ProcessInfo.processInfo.environment["TERM"] != "dumb"
    }

    /// Seconds since this progress started.
    public var elapsed: TimeInterval { Date().timeIntervalSince(start) }

    /// Reports that `done` units are finished; `detail` is appended (losses, say).
    public func update(_ done: Int, detail: String = "") {
        let now = Date()
        let finished = done >= total
        let interval = interactive ? 0.1 : plainInterval
        guard finished || now.timeIntervalSince(lastPrint) >= interval else { return }
        lastPrint = now
        let line = Progress.format(label: label, done: done, total: total, elapsed: elapsed, unit: unit,
                                   detail: detail, bar: interactive)
        if interactive {
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + line + (finished ? "\n" : "")).utf8))
        } else {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    /// One progress line: label, optional bar, count, percent, rate, ETA and detail.
    public static func format(label: String, done: Int, total: Int, elapsed: TimeInterval, unit: String,
                              detail: String, bar: Bool) -> String {
        let fraction = min(max(Double(done) / Double(max(total, 1)), 0), 1)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : .nan
        var parts = [label]
        if bar {
            let width = 24
            let filled = Int(fraction * Double(width))
            parts.append("[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]")
        }
        parts.append("\(done)/\(total)")
        parts.append(String(format: "%3.0f%%", fraction * 100))
        parts.append(String(format: "%.1f %@/s", rate, unit))
        parts.append("ETA " + duration(eta))
        if !detail.isEmpty { parts.append(detail) }
        return parts.joined(separator: " ")
    }

    /// "1h02m", "3m05s", "12s"; "--" when unknown.
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "--" }
        let s = Int(seconds.rounded())
        if s >= 3600 { return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) }
        if s >= 60 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return "\(s)s"
    }
}
