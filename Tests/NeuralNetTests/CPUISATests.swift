// The bf16 availability check (DNNL+ISA.swift) with the ISA injected: oneDNN's
// bit masks, the decision for each precision, and the one-line message.

import Records
import XCTest
@testable import NeuralNet

final class CPUISATests: XCTestCase {
    func testBF16NeedsAVX512BF16OrAMXAndF32RunsAnywhere() {
        for isa in [CPUISA.avx2, .avx512Core, .avx512CoreVNNI, CPUISA(rawValue: 0x407)] {  // 0x407: avx2_vnni
            XCTAssertFalse(Precision.bf16.isSupported(on: isa), "\(isa)")
            XCTAssertTrue(Precision.f32.isSupported(on: isa), "\(isa)")
            XCTAssertThrowsError(try Precision.bf16.checkSupported(on: isa)) { error in
                XCTAssertEqual(error as? UnsupportedPrecision, UnsupportedPrecision(precision: .bf16, isa: isa))
                let text = "\(error)"
                XCTAssertFalse(text.contains("\n"))
                XCTAssertTrue(text.hasPrefix("precision bf16 needs a CPU with AVX512-BF16, but oneDNN reports "), text)
            }
        }
        for isa in [CPUISA.avx512CoreBF16, .avx512CoreAMX] {
            XCTAssertTrue(Precision.bf16.isSupported(on: isa), "\(isa)")
            XCTAssertNoThrow(try Precision.bf16.checkSupported(on: isa))
        }
        XCTAssertEqual("\(CPUISA.avx512Core)", "avx512_core")
        XCTAssertEqual("\(CPUISA.avx512CoreBF16)", "avx512_core_bf16")
    }

    func testTheEffectiveISAIsWhatOneDNNReports() {
        // This machine's oneDNN runs at least AVX2; the query is not a constant.
        XCTAssertTrue(CPUISA.effective.includes(.avx2), "\(CPUISA.effective)")
    }
}
