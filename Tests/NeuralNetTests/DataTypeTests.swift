// Element types on descriptors and memories: sizes come from the type, and a
// reorder converts f32 ↔ bf16. The bf16 oracle is written here from the format's
// definition (the top 16 bits of the f32, rounded to nearest even), not taken
// from oneDNN.

import Records
import XCTest
import CDNNL
@testable import NeuralNet

final class DataTypeTests: XCTestCase {
    func testBF16DescriptorsAndMemoriesHoldHalfTheBytesOfF32() {
        for (dims, tag) in [([5], dnnl_a), ([3, 7], dnnl_ab), ([2, 16, 3, 3], dnnl_aBcd16b), ([2, 3, 5, 5], dnnl_abcd)] {
            let f32 = DNNL.desc(dims, tag, type: .f32), bf16 = DNNL.desc(dims, tag, type: .bf16)
            XCTAssertEqual(DNNL.dataType(f32), .f32)
            XCTAssertEqual(DNNL.dataType(bf16), .bf16)
            XCTAssertEqual(DNNL.byteSize(f32), 4 * dims.reduce(1, *), "\(dims)")
            XCTAssertEqual(2 * DNNL.byteSize(bf16), DNNL.byteSize(f32), "\(dims)")
            let a = DNNLMemory(desc: f32), b = DNNLMemory(desc: bf16)
            XCTAssertEqual(b.dataType, .bf16)
            XCTAssertEqual(2 * b.byteCount, a.byteCount)
            XCTAssertEqual(a.physicalCount, b.physicalCount, "element counts do not depend on the type")
        }
        // Blocked padding is counted in elements of the type: 3 channels padded to 16.
        let padded = DNNL.desc([2, 3, 4, 4], dnnl_aBcd16b, type: .bf16)
        XCTAssertEqual(DNNL.byteSize(padded), 2 * 16 * 4 * 4 * 2)
    }

    func testReorderToBF16AndBackRoundsToBF16Precision() {
        var rng = SeededGenerator(seed: 7)
        let shape = [2, 16, 3, 5]
        let x = Tensor(shape: shape)
        for i in 0..<x.count { x.data[i] = rng.normal(mean: 0, std: 3) * (i % 7 == 0 ? 1000 : 1) }
        let source = DNNLMemory(plain: x)
        // Through a blocked bf16 layout, so layout and type change in one reorder.
        let half = DNNLMemory(desc: DNNL.desc(shape, dnnl_aBcd16b, type: .bf16))
        Reorder(from: source.desc, to: half.desc).run(source, half)
        let back = half.plainCopy()  // bf16 blocked → f32 plain

        let plainHalf = DNNLMemory(desc: DNNL.desc(shape, dnnl_abcd, type: .bf16))
        Reorder(from: half.desc, to: plainHalf.desc).run(half, plainHalf)
        var changed = 0
        for i in 0..<x.count {
            let v = x.data[i]
            XCTAssertLessThanOrEqual(abs(back.data[i] - v), abs(v) / 256, "element \(i): \(v) → \(back.data[i])")
            // The stored bits are f32's upper half, rounded to nearest even.
            let bits = v.bitPattern
            let expected = UInt16((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16)
            XCTAssertEqual(plainHalf.rawData.load(fromByteOffset: 2 * i, as: UInt16.self), expected, "element \(i)")
            XCTAssertEqual(back.data[i].bitPattern, UInt32(expected) << 16, "element \(i)")
            if back.data[i] != v { changed += 1 }
        }
        XCTAssertGreaterThan(changed, x.count / 2, "random values should lose precision in bf16")
    }
}
