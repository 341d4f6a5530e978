// libFuzzer harness: safetensors decoding, then the checkpoint checks Checkpoint.read
// makes before building any network (CheckpointMetadata from the header map,
// bounds, layout, shapes, finite values, variances).
import Foundation
import Records

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ bytes: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let data = bytes.map { Data(bytes: $0, count: size) } ?? Data()
    let url = URL(fileURLWithPath: "/fuzz/checkpoint.safetensors")
    FuzzBudget.run {
        guard let file = try? Safetensors.decode(data, path: url.path),
              let meta = try? CheckpointMetadata(safetensorsMetadata: file.metadata, of: url) else { return }
        _ = try? meta.validate(tensors: file.tensors, order: file.order, of: url)
    }
    return 0
}
