// All classes of a one-class data set with one command: the protocol of
// OneClassBenchmark for classes 0–9 in sequence, each in its own directory and
// skipped when its results.json holds the same settings, then one table (Markdown
// and CSV) of class × (A from the prior, A of E(x) alone, A of E(x) refined,
// P_D) with the mean and, for comparison, published one-class means. The
// per-class runner is a parameter so a test can stand in for ten GAN trainings.

import Foundation
import Records

/// A one-class result published elsewhere, shown beside the measured mean (never measured here).
public struct PublishedOneClassMean: Codable, Equatable, Sendable {
    public var method: String
    public var source: String
    /// Mean AUC over the ten classes, in [0, 1].
    public var meanAUC: Double

    /// Fashion-MNIST, mean over the ten one-class problems, as printed in the papers.
    public static let fashionMNIST = [
        PublishedOneClassMean(method: "GEOM", source: "Golan & El-Yaniv, NeurIPS 2018", meanAUC: 0.935),
        PublishedOneClassMean(method: "Deep SAD", source: "Ruff et al., ICLR 2020", meanAUC: 0.892),
    ]
}

/// One class's row of the table.
public struct OneClassTableRow: Codable, Equatable, Sendable {
    public var normalClass: Int
    /// A (feature-matching mapping) from the prior, from E(x) alone and from E(x) refined; P_D.
    public var priorA: Double
    public var encoderA: Double
    public var refinedA: Double
    public var discriminatorP: Double
    /// Warning kinds of the run ("collapsed", "inverted", …), empty when none.
    public var warnings: [String]
    /// Whether this invocation ran the class (false: its results.json was reused).
    public var ran: Bool

    public init(_ result: OneClassBenchmarkResult, ran: Bool) {
        func a(_ start: String, _ column: String = OneClassBenchmark.headline) -> Double {
            result.start(start)?.auc(column)?.auc ?? .nan
        }
        normalClass = result.settings.normalClass
        priorA = a(OneClassBenchmark.priorStart)
        encoderA = a(OneClassBenchmark.encoderStart)
        refinedA = a(OneClassBenchmark.refinedStart)
        discriminatorP = a(OneClassBenchmark.priorStart, "P_D")
        warnings = Array(Set(result.warnings.map(\.kind))).sorted()
        self.ran = ran
    }
}

/// The all-classes table: rows, their mean, the published means; written as table.md and table.csv.
public struct OneClassTable: Codable, Equatable, Sendable {
    public var dataName: String
    /// The budget every class had (OneClassBenchmarkSettings.budget).
    public var budget: String
    public var rows: [OneClassTableRow]
    public var published: [PublishedOneClassMean]

    public static let markdownFileName = "table.md", csvFileName = "table.csv"

    /// Means over the rows of (prior A, encoder A, refined A, P_D).
    public var means: [Double] {
        let columns: [KeyPath<OneClassTableRow, Double>] = [\.priorA, \.encoderA, \.refinedA, \.discriminatorP]
        return columns.map { k in rows.map { $0[keyPath: k] }.reduce(0, +) / Double(max(rows.count, 1)) }
    }

    private static func f(_ x: Double) -> String { String(format: "%.3f", x) }

    public var markdown: String {
        var lines = ["# \(dataName) one-class AUC (normal class vs the other nine)", "",
                     "Per class: \(budget).", "",
                     "| class | A, prior start | A, E(x) alone (Γ = 0) | A, E(x) refined | P_D | warnings |",
                     "| ---: | ---: | ---: | ---: | ---: | --- |"]
        for r in rows {
            lines.append("| \(r.normalClass) | \(Self.f(r.priorA)) | \(Self.f(r.encoderA)) | \(Self.f(r.refinedA)) | "
                         + "\(Self.f(r.discriminatorP)) | \(r.warnings.isEmpty ? "–" : r.warnings.joined(separator: ", ")) |")
        }
        let m = means
        lines.append("| **mean** | **\(Self.f(m[0]))** | **\(Self.f(m[1]))** | **\(Self.f(m[2]))** | **\(Self.f(m[3]))** | |")
        if !published.isEmpty {
            lines += ["", "Published means for comparison (numbers from the papers, not measured here):", ""]
            for p in published { lines.append("- \(p.method) (\(p.source)): mean AUC \(Self.f(p.meanAUC))") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// class,prior_A,encoder_A,refined_A,P_D,warnings; then the mean row ("mean") and one row per
    /// published mean (class "published: GEOM (…)", quoted; its mean in prior_A, the other columns empty).
    public var csv: String {
        var lines = ["class,prior_A,encoder_A,refined_A,P_D,warnings"]
        for r in rows {
            lines.append("\(r.normalClass),\(r.priorA),\(r.encoderA),\(r.refinedA),\(r.discriminatorP),\(r.warnings.joined(separator: " "))")
        }
        let m = means
        lines.append("mean,\(m[0]),\(m[1]),\(m[2]),\(m[3]),")
        for p in published { lines.append("\"published: \(p.method) (\(p.source))\",\(p.meanAUC),,,,") }
        return lines.joined(separator: "\n") + "\n"
    }

    public func write(to directory: URL) throws {
        try Data(markdown.utf8).writeAtomically(to: directory.appendingPathComponent(Self.markdownFileName))
        try Data(csv.utf8).writeAtomically(to: directory.appendingPathComponent(Self.csvFileName))
    }
}

extension OneClassBenchmark {
    /// The directory of class `c` in an all-classes run.
    public static func classDirectory(_ root: URL, _ c: Int) -> URL { root.appendingPathComponent("class-\(c)") }

    /// Runs `classes` in sequence with `settings` (its normalClass replaced by each), class c in
    /// `directory`/class-c; a class whose results.json holds the same settings is not run again.
    /// `runClass` is the per-class protocol (OneClassBenchmark.run). Writes table.md and table.csv
    /// into `directory` and returns the table.
    public static func runAllClasses(
        settings: OneClassBenchmarkSettings, classes: [Int] = Array(0..<10), directory: URL,
        published: [PublishedOneClassMean] = PublishedOneClassMean.fashionMNIST,
        log: @escaping (String) -> Void = { print($0); fflush(stdout) },
        runClass: (OneClassBenchmarkSettings, URL, @escaping (String) -> Void) throws -> OneClassBenchmarkResult = { s, d, l in
            try OneClassBenchmark.run(settings: s, directory: d, log: l)
        }
    ) throws -> OneClassTable {
        try settings.validate()
        var rows: [OneClassTableRow] = []
        for (i, c) in classes.enumerated() {
            var s = settings
            s.normalClass = c
            let dir = classDirectory(directory, c)
            let results = dir.appendingPathComponent(resultsFileName)
            if let saved = try? OneClassBenchmarkResult.read(results), saved.settings.resolved == s.resolved {
                log("[\(i + 1)/\(classes.count)] class \(c): already done for these settings (\(results.path)), skipped")
                rows.append(OneClassTableRow(saved, ran: false))
                continue
            }
            log("[\(i + 1)/\(classes.count)] class \(c)")
            let t0 = Date()
            let result = try runClass(s, dir) { log("    " + $0) }
            let row = OneClassTableRow(result, ran: true)
            log(String(format: "    class %d done in %.0f s: A %.3f (prior), %.3f (E(x)), %.3f (E(x) refined), P_D %.3f%@", c,
                       Date().timeIntervalSince(t0), row.priorA, row.encoderA, row.refinedA, row.discriminatorP,
                       row.warnings.isEmpty ? "" : "; warnings: " + row.warnings.joined(separator: ", ")))
            rows.append(row)
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let table = OneClassTable(dataName: settings.dataName, budget: settings.budget, rows: rows, published: published)
        try table.write(to: directory)
        return table
    }
}
