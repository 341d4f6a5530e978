// libFuzzer harness: MetaImage header and data (MetaImage.decode), inline (LOCAL) or
// in a separate file: the header's folder holds `data.raw` (256 bytes) and a symlink
// `escape.raw` → /etc/hostname, so containment and external data are exercised.
import Foundation
import Imaging
import Records

let folder: URL = {
    let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("anogan-fuzz-metaimage-\(getpid())")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    try? Data((0..<256).map { UInt8($0) }).write(to: dir.appendingPathComponent("data.raw"))
    try? FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("escape.raw").path, withDestinationPath: "/etc/hostname")
    return dir
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ bytes: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let data = bytes.map { Data(bytes: $0, count: size) } ?? Data()
    FuzzBudget.run {
        _ = try? MetaImage.decode(data, url: folder.appendingPathComponent("fuzz.mha"))
    }
    return 0
}
