// libFuzzer harness: PNG decoding through the libpng shim (PNG.decode), and the grey conversion.
import Foundation
import Imaging
import Records

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ bytes: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let data = bytes.map { Data(bytes: $0, count: size) } ?? Data()
    FuzzBudget.run {
        if let image = try? PNG.decode(data, path: "fuzz.png") { _ = image.grayscale() }
    }
    return 0
}
