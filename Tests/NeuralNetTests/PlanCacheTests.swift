// PlanCache (Layers/PlanCache.swift): a plan is built once per (input layout,
// mode) and reused; a different layout, batch size or mode builds a new one.

import Records
import XCTest
import CDNNL
@testable import NeuralNet

final class PlanCacheTests: XCTestCase {
    func testBuildsOncePerLayoutAndMode() {
        let cache = PlanCache<Int>()
        var built = 0
        func plan(_ desc: dnnl_memory_desc_t, mode: Int = 0) -> Int {
            cache.plan(for: desc, mode: mode) { built += 1; return built }
        }
        let plain = DNNL.desc([2, 16, 3, 3], dnnl_abcd, type: .f32)
        XCTAssertEqual(plan(plain), 1)
        XCTAssertEqual(plan(DNNL.desc([2, 16, 3, 3], dnnl_abcd, type: .f32)), 1, "an equal descriptor reuses the plan")
        XCTAssertEqual(plan(plain, mode: 1), 2, "another mode")
        XCTAssertEqual(plan(DNNL.desc([2, 16, 3, 3], dnnl_aBcd16b, type: .f32)), 3, "another layout")
        XCTAssertEqual(plan(DNNL.desc([3, 16, 3, 3], dnnl_abcd, type: .f32)), 4, "another batch size")
        XCTAssertEqual(plan(DNNL.desc([2, 16, 3, 3], dnnl_abcd, type: .bf16)), 5, "another element type")
        XCTAssertEqual([plan(plain), plan(plain, mode: 1)], [1, 2])
        XCTAssertEqual(built, 5)
    }
}
