// libFuzzer harness: .npy decoding (NPY.decode) and the Float32 conversion readers do.
import Foundation
import Records

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ bytes: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let data = bytes.map { Data(bytes: $0, count: size) } ?? Data()
    FuzzBudget.run {
        if let array = try? NPY.decode(data, path: "fuzz.npy") { _ = array.floats() }
    }
    return 0
}
