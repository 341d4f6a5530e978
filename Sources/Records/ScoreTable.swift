// Score tables (scores.csv of a ScoreRun): one row per scored image — id, label, and every
// anomaly score — as written by `anogan score` and read by `anogan evaluate`.
// CSV: header `id,label,<columns…>`; label empty when unknown; values in full
// (round-trip) precision; an empty value means absent (NaN).

import Foundation

public struct ScoreTable: Equatable, Sendable {
    /// Score names in order, e.g. ["R","D","A","R_hat","D_hat","A_hat","P_D"].
    public var columns: [String]
    /// One per row, unique.
    public var ids: [String]
    /// 0 normal, 1 anomalous, nil unknown; one per row.
    public var labels: [Int?]
    /// values[row][column]; NaN = absent.
    public var values: [[Double]]

    public init(columns: [String], ids: [String], labels: [Int?], values: [[Double]]) {
        precondition(ids.count == labels.count && ids.count == values.count, "rows disagree")
        precondition(values.allSatisfy { $0.count == columns.count }, "a row has the wrong number of values")
        precondition(labels.allSatisfy { $0 == nil || $0 == 0 || $0 == 1 }, "score labels are 0, 1 or nil (a patch set's −1 is nil)")
        precondition(!ids.contains { $0.contains(where: \.isNewline) }, "score ids cannot contain line breaks")
        self.columns = columns
        self.ids = ids
        self.labels = labels
        self.values = values
    }

    public var count: Int { ids.count }

    /// The values of one score for every row, or nil if there is no such column.
    public func column(_ name: String) -> [Double]? {
        guard let c = columns.firstIndex(of: name) else { return nil }
        return values.map { $0[c] }
    }

    // MARK: CSV

    public func csv() -> String {
        var out = (["id", "label"] + columns).map(Self.quote).joined(separator: ",") + "\n"
        for r in ids.indices {
            var fields = [Self.quote(ids[r]), labels[r].map(String.init) ?? ""]
            // Swift's description is the shortest text that reads back to the same Double.
            fields += values[r].map { $0.isNaN ? "" : "\($0)" }
            out += fields.joined(separator: ",") + "\n"
        }
        return out
    }

    /// Parses the CSV `csv()` writes. `path` names the file in errors, which also give the line.
    public static func parse(csv: String, path: String) throws -> ScoreTable {
        // Swift reads "\r\n" as one Character, so splitting on isNewline handles both endings.
        var lines = csv.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        while let last = lines.last, last.isEmpty { lines.removeLast() }
        guard let headerLine = lines.first else { throw FileError(path, "empty score table (no header)") }
        let header = try fields(of: headerLine, path: path, line: 1)
        guard header.count >= 2, header[0] == "id", header[1] == "label" else {
            throw FileError(path, "line 1: header must start with id,label (got \(header.prefix(2).joined(separator: ",")))")
        }
        let columns = Array(header.dropFirst(2))
        for (k, name) in columns.enumerated() {
            if name.isEmpty { throw FileError(path, "line 1: column \(k + 3) has no name") }
            if columns[..<k].contains(name) { throw FileError(path, "line 1: column \(name) appears twice") }
        }
        var ids = [String](), labels = [Int?](), values = [[Double]]()
        var seen = Set<String>()
        for (k, line) in lines.enumerated().dropFirst() {
            let n = k + 1
            let f = try fields(of: line, path: path, line: n)
            guard f.count == header.count else {
                throw FileError(path, "line \(n): \(f.count) fields, header has \(header.count)")
            }
            guard !f[0].isEmpty else { throw FileError(path, "line \(n): empty id") }
            guard seen.insert(f[0]).inserted else { throw FileError(path, "line \(n): id \(f[0]) appears twice") }
            let label: Int?
            switch f[1] {
            case "": label = nil
            case "0": label = 0
            case "1": label = 1
            default: throw FileError(path, "line \(n): label must be 0, 1 or empty, got \(f[1])")
            }
            var row = [Double]()
            row.reserveCapacity(columns.count)
            for (c, text) in f.dropFirst(2).enumerated() {
                if text.isEmpty || text.lowercased() == "nan" { row.append(.nan); continue }
                guard let v = Double(text), v.isFinite else {
                    throw FileError(path, "line \(n): column \(columns[c]): \(text) is not a finite number")
                }
                row.append(v)
            }
            ids.append(f[0]); labels.append(label); values.append(row)
        }
        return ScoreTable(columns: columns, ids: ids, labels: labels, values: values)
    }

    public func write(to url: URL) throws { try Data(csv().utf8).writeAtomically(to: url) }

    public static func read(_ url: URL) throws -> ScoreTable {
        let data = try readFile(url)
        guard let text = String(data: data, encoding: .utf8) else { throw FileError(url, "not UTF-8 text") }
        return try parse(csv: text, path: url.path)
    }

    // RFC 4180 quoting, needed only for ids (paths may contain commas). Ids never
    // contain line breaks (checked in init), so the reader can be line based.
    private static func quote(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    private static func fields(of line: Substring, path: String, line n: Int) throws -> [String] {
        var out = [String](), current = "", quoted = false, wasQuoted = false
        var it = line.makeIterator()
        while let ch = it.next() {
            if quoted {
                if ch == "\"" {
                    // A doubled quote is a literal quote; a single one closes the field.
                    var peek = it
                    if peek.next() == "\"" { current.append("\""); it = peek } else { quoted = false }
                } else { current.append(ch) }
            } else if ch == "," {
                out.append(current); current = ""; wasQuoted = false
            } else if ch == "\"" && current.isEmpty && !wasQuoted {
                quoted = true; wasQuoted = true
            } else {
                current.append(ch)
            }
        }
        if quoted { throw FileError(path, "line \(n): unterminated quote") }
        out.append(current)
        return out
    }
}

extension ScoreTable {
    /// The labelled rows of one score, ready for ROC/AUC: rows with an unknown
    /// label are left out (they cannot be judged); rows whose value is NaN are
    /// left out too and listed in `excludedIDs` so reports can show them.
    /// Returns nil when the column is missing or has no value at all (not computed).
    public func labelledScores(_ name: String) -> (scores: [Double], labels: [Bool], excludedIDs: [String])? {
        guard let column = column(name), column.contains(where: { !$0.isNaN }) else { return nil }
        var scores = [Double](), labels = [Bool](), excluded = [String]()
        for r in ids.indices {
            guard let l = self.labels[r] else { continue }
            if column[r].isNaN { excluded.append(ids[r]); continue }
            scores.append(column[r]); labels.append(l == 1)
        }
        return (scores, labels, excluded)
    }
}
