// libFuzzer harness: scores.csv (ScoreTable.parse, as ScoreTable.read calls it), and a round trip.
import Foundation
import Records

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ bytes: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let data = bytes.map { Data(bytes: $0, count: size) } ?? Data()
    guard let text = String(data: data, encoding: .utf8) else { return 0 }
    FuzzBudget.run {
        guard let table = try? ScoreTable.parse(csv: text, path: "scores.csv") else { return }
        // What the reader accepted must survive writing and reading again.
        _ = try! ScoreTable.parse(csv: table.csv(), path: "round-trip.csv")
    }
    return 0
}
