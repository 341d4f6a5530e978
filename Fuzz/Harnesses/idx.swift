// libFuzzer harness: IDX files, plain and gzip (IDX.decodeFile detects gzip from the content).
import Foundation
import Imaging
import Records

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ bytes: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let data = bytes.map { Data(bytes: $0, count: size) } ?? Data()
    FuzzBudget.run {
        _ = try? IDX.decodeFile(data, path: "fuzz.idx")
        // The same bytes compressed, so the gzip path sees every header the plain one does.
        if !Gzip.isGzip(data) { _ = try? IDX.decodeFile(Gzip.compress(data, level: 1), path: "fuzz.idx.gz") }
    }
    return 0
}
