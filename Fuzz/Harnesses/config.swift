// libFuzzer harness: settings files (`--config`): Workflows' SettingsFile.parse, JSON
// or YAML, laid over the defaults of a Records settings record chosen by the first byte.
// scripts/fuzz compiles Workflows/SettingsFile.swift into this harness's module (with
// Records and Yams), since the Workflows module itself links oneDNN.
import Foundation
import Records

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ bytes: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let bytes, size > 0 else { return 0 }
    let choice = bytes[0]
    let text = String(decoding: UnsafeBufferPointer(start: bytes + 1, count: size - 1), as: UTF8.self)
    let url = URL(fileURLWithPath: choice & 0x80 == 0 ? "/fuzz/settings.yaml" : "/fuzz/settings.json")
    FuzzBudget.run {
        switch choice % 5 {
        case 0: _ = try? SettingsFile.parse(text, over: TrainingSettings(), file: url)
        case 1: _ = try? SettingsFile.parse(text, over: ScoringSettings(), file: url)
        case 2: _ = try? SettingsFile.parse(text, over: MappingSettings(), file: url)
        case 3: _ = try? SettingsFile.parse(text, over: DCGANConfig(), file: url)
        default: _ = try? SettingsFile.parse(text, over: AdamSettings.dcgan, file: url)
        }
    }
    return 0
}
