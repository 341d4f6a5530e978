// Progress.swift: the progress line (count, percent, rate, ETA, optional bar)
// against hand-computed strings, durations, and the plain lines written when
// standard error is not a terminal (no carriage returns, one line per interval,
// the finished line always).

import Foundation
import Records
import TestSupport
import XCTest

final class ProgressTests: TemporaryDirectoryTestCase {
    func testFormatGivesCountPercentRateAndETA() {
        // 30 of 120 in 15 s: 25 %, 2.0 img/s, 90 left at 2/s = 45 s.
        XCTAssertEqual(Progress.format(label: "train", done: 30, total: 120, elapsed: 15, unit: "img", detail: "loss 0.5", bar: false),
                       "train 30/120  25% 2.0 img/s ETA 45s loss 0.5")
        // The bar: 24 cells, ⌊0.25 · 24⌋ = 6 filled.
        XCTAssertEqual(Progress.format(label: "train", done: 30, total: 120, elapsed: 15, unit: "img", detail: "", bar: true),
                       "train [######..................] 30/120  25% 2.0 img/s ETA 45s")
        // Nothing done yet: no rate, so no ETA.
        XCTAssertEqual(Progress.format(label: "score", done: 0, total: 8, elapsed: 0, unit: "it", detail: "", bar: false),
                       "score 0/8   0% 0.0 it/s ETA --")
        // Finished: 100 %, nothing left.
        XCTAssertEqual(Progress.format(label: "map", done: 7, total: 7, elapsed: 2, unit: "it", detail: "", bar: true),
                       "map [########################] 7/7 100% 3.5 it/s ETA 0s")
        // 1 of 3601 in 1 s: 3600 s left = 1h00m.
        XCTAssertEqual(Progress.format(label: "t", done: 1, total: 3601, elapsed: 1, unit: "it", detail: "", bar: false),
                       "t 1/3601   0% 1.0 it/s ETA 1h00m")
    }

    func testDurations() {
        XCTAssertEqual(Progress.duration(0), "0s")
        XCTAssertEqual(Progress.duration(12.4), "12s")
        XCTAssertEqual(Progress.duration(59.5), "1m00s")
        XCTAssertEqual(Progress.duration(185), "3m05s")
        XCTAssertEqual(Progress.duration(3725), "1h02m")
        XCTAssertEqual(Progress.duration(-1), "--")
        XCTAssertEqual(Progress.duration(.nan), "--")
        XCTAssertEqual(Progress.duration(.infinity), "--")
        XCTAssertEqual(Progress("x", total: 0).total, 1, "an empty job counts as one unit, so percentages stay finite")
    }

    /// Runs `body` with standard error sent to a file and returns what was written.
    private func capturingStandardError(_ body: () -> Void) throws -> String {
        let url = dir.appendingPathComponent("stderr.txt")
        XCTAssertTrue(FileManager.default.createFile(atPath: url.path, contents: nil))
        let file = open(url.path, O_WRONLY | O_TRUNC)
        XCTAssertGreaterThanOrEqual(file, 0)
        let saved = dup(STDERR_FILENO)
        dup2(file, STDERR_FILENO)
        close(file)
        body()
        dup2(saved, STDERR_FILENO)
        close(saved)
        return try String(contentsOf: url, encoding: .utf8)
    }

    func testPlainLinesWhenNotOnATerminal() throws {
        let text = try capturingStandardError {
            let progress = Progress("train", total: 10, unit: "img", plainInterval: 3600)
            progress.update(1, detail: "loss 0.5")   // the first update prints
            progress.update(5)                       // within the interval: silent
            progress.update(10)                      // finished: always printed
        }
        XCTAssertFalse(text.contains("\r") || text.contains("\u{1B}") || text.contains("["), "no terminal control, no bar: \(text.debugDescription)")
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(lines.count, 3, text.debugDescription)   // two lines, each ending in a newline
        guard lines.count == 3 else { return }
        XCTAssertTrue(lines[0].hasPrefix("train 1/10  10% ") && lines[0].hasSuffix(" img/s ETA 0s loss 0.5"), lines[0])
        XCTAssertTrue(lines[1].hasPrefix("train 10/10 100% ") && lines[1].hasSuffix(" img/s ETA 0s"), lines[1])
        XCTAssertEqual(lines[2], "")
    }
}
