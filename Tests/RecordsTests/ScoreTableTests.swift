// Score table CSV (ScoreTable): round trip, NaN as absent, and errors that
// name the file and the line.

import Foundation
import TestSupport
import XCTest

@testable import Records


final class ScoreTableTests: TemporaryDirectoryTestCase {
    func testRoundTripKeepsEveryBit() throws {
        let t = ScoreTable(columns: ["R", "D", "P_D"], ids: ["a", "vol,1/\"b\"", "c"], labels: [0, nil, 1],
                           values: [[0.1 + 0.2, 1e-300, 0.5], [.nan, 3, 2.5e10], [-0.0, 123456.789012345678, .nan]])
        let text = t.csv()
        XCTAssertTrue(text.hasPrefix("id,label,R,D,P_D\na,0,0.30000000000000004,1e-300,0.5\n"), text)
        let back = try ScoreTable.parse(csv: text, path: "s.csv")
        XCTAssertEqual(back.columns, t.columns)
        XCTAssertEqual(back.ids, t.ids)
        XCTAssertEqual(back.labels, t.labels)
        for (r1, r2) in zip(back.values, t.values) {
            for (a, b) in zip(r1, r2) { XCTAssertTrue(a.bitPattern == b.bitPattern || (a.isNaN && b.isNaN), "\(a) vs \(b)") }
        }
        XCTAssertEqual(back.column("R")!.map(\.isNaN), [false, true, false])
        XCTAssertNil(back.column("nope"))
    }

    func testFileRoundTripAndCRLF() throws {
        let t = ScoreTable(columns: ["A"], ids: ["x", "y"], labels: [1, 0], values: [[2], [1]])
        let url = dir.appendingPathComponent("scores.csv")
        try t.write(to: url)
        XCTAssertEqual(try ScoreTable.read(url), t)
        XCTAssertEqual(try ScoreTable.parse(csv: "id,label,A\r\nx,1,2\r\ny,0,1\r\n", path: "w.csv"), t)
        XCTAssertEqual(try ScoreTable.parse(csv: "id,label,A\nx,1,nan\ny,0,NaN\n", path: "n.csv").column("A")!.filter(\.isNaN).count, 2)
    }

    func testErrorsNameFileAndLine() {
        func message(_ csv: String) -> String {
            do { _ = try ScoreTable.parse(csv: csv, path: "run/scores.csv"); return "no error" } catch { return "\(error)" }
        }
        XCTAssertEqual(message(""), "run/scores.csv: empty score table (no header)")
        XCTAssertTrue(message("name,label,R\n").contains("line 1"))
        XCTAssertEqual(message("id,label,R\na,0,1\nb,0\n"), "run/scores.csv: line 3: 2 fields, header has 3")
        XCTAssertEqual(message("id,label,R\na,2,1\n"), "run/scores.csv: line 2: label must be 0, 1 or empty, got 2")
        XCTAssertEqual(message("id,label,R\na,0,1\nb,1,x1\n"), "run/scores.csv: line 3: column R: x1 is not a finite number")
        XCTAssertEqual(message("id,label,R\na,0,inf\n"), "run/scores.csv: line 2: column R: inf is not a finite number")
        XCTAssertEqual(message("id,label,R\na,0,1\na,1,2\n"), "run/scores.csv: line 3: id a appears twice")
        XCTAssertEqual(message("id,label,R,R\n"), "run/scores.csv: line 1: column R appears twice")
        XCTAssertEqual(message("id,label,R\n\"a,0,1\n"), "run/scores.csv: line 2: unterminated quote")
        XCTAssertThrowsError(try ScoreTable.read(URL(fileURLWithPath: "/nonexistent/scores.csv"))) { e in
            XCTAssertEqual("\(e)", "/nonexistent/scores.csv: no such file")
        }
    }

    func testLabelledScoresReportNaNRows() {
        let t = ScoreTable(columns: ["R", "R_hat"], ids: ["a", "b", "c", "d"], labels: [0, 1, nil, 1],
                           values: [[1, .nan], [.nan, .nan], [3, .nan], [4, .nan]])
        let r = t.labelledScores("R")!
        XCTAssertEqual(r.scores, [1, 4])
        XCTAssertEqual(r.labels, [false, true])
        XCTAssertEqual(r.excludedIDs, ["b"], "a NaN row is reported, never ranked")
        XCTAssertNil(t.labelledScores("R_hat"), "an all-absent column was not computed")
    }
}
