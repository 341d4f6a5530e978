// Which instruction set oneDNN runs on, and whether a Precision can run there.
// bf16 convolutions need AVX512-BF16 (or AMX): without it oneDNN has no bf16
// convolution kernel but its reference one, hundreds of times slower, so asking
// for bf16 there is an error, not a silent fallback (README, "Precision").
// The ISA is a value the check takes, so tests can pose as any CPU; it comes
// from oneDNN's own query (which honours ONEDNN_MAX_CPU_ISA).

import CDNNL
import Records

/// A oneDNN CPU instruction-set level (`dnnl_cpu_isa_t`).
public struct CPUISA: Equatable, Sendable, CustomStringConvertible {
    /// oneDNN's bit mask: each level's bits include those of the levels it extends.
    public let rawValue: UInt32

    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let avx2 = CPUISA(rawValue: dnnl_cpu_isa_avx2.rawValue)
    public static let avx512Core = CPUISA(rawValue: dnnl_cpu_isa_avx512_core.rawValue)
    public static let avx512CoreVNNI = CPUISA(rawValue: dnnl_cpu_isa_avx512_core_vnni.rawValue)
    public static let avx512CoreBF16 = CPUISA(rawValue: dnnl_cpu_isa_avx512_core_bf16.rawValue)
    public static let avx512CoreAMX = CPUISA(rawValue: dnnl_cpu_isa_avx512_core_amx.rawValue)

    /// What oneDNN will use on this machine (the CPU's best level, capped by ONEDNN_MAX_CPU_ISA).
    public static var effective: CPUISA { CPUISA(rawValue: dnnl_get_effective_cpu_isa().rawValue) }

    /// True when this level includes every instruction of `other`.
    public func includes(_ other: CPUISA) -> Bool { rawValue & other.rawValue == other.rawValue }

    /// oneDNN's name for the level ("avx512_core_bf16").
    public var description: String {
        let names: [(CPUISA, String)] = [(.avx512CoreAMX, "avx512_core_amx"), (.avx512CoreBF16, "avx512_core_bf16"),
                                         (.avx512CoreVNNI, "avx512_core_vnni"), (.avx512Core, "avx512_core"), (.avx2, "avx2")]
        return names.first { $0.0 == self }?.1 ?? names.first { includes($0.0) }.map { "\($0.1)+" } ?? "isa 0x\(String(rawValue, radix: 16))"
    }
}

/// A precision this CPU has no fast kernels for.
public struct UnsupportedPrecision: Error, Equatable, CustomStringConvertible {
    public let precision: Precision
    public let isa: CPUISA
    public var description: String {
        "precision \(precision.rawValue) needs a CPU with AVX512-BF16, but oneDNN reports \(isa) here; use f32"
    }
}

extension Precision {
    /// True when oneDNN has fast (jit) kernels for this precision on `isa`.
    public func isSupported(on isa: CPUISA = .effective) -> Bool {
        switch self {
        case .f32: return true
        case .bf16: return isa.includes(.avx512CoreBF16)
        }
    }

    /// Throws UnsupportedPrecision unless `isSupported(on: isa)`.
    public func checkSupported(on isa: CPUISA = .effective) throws {
        guard isSupported(on: isa) else { throw UnsupportedPrecision(precision: self, isa: isa) }
    }
}
