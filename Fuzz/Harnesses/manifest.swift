// libFuzzer harness: the patch-set manifest. The input becomes manifest.json of a
// patch set directory holding 2 images of 4×4 with labels and masks; PatchSet.load
// decodes it and checks it against the arrays.
import Foundation
import Records

let directory: URL = {
    let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("anogan-fuzz-manifest-\(getpid())")
    let set = PatchSet(images: Tensor(shape: [2, 1, 4, 4], value: 0.5), labels: [0, 1], masks: Tensor(shape: [2, 1, 4, 4]))
    try! set.save(to: dir)
    return dir
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ bytes: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let data = bytes.map { Data(bytes: $0, count: size) } ?? Data()
    FuzzBudget.run {
        try? data.write(to: directory.appendingPathComponent(PatchSet.Files.manifest))
        _ = try? PatchSet.load(from: directory)
    }
    return 0
}
