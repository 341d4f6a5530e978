// Random.swift: SeededGenerator against the reference SplitMix64 / xoshiro256**
// (values computed by an independent Python transcription of Vigna's C code),
// determinism and restorable state, named streams through FNV-1a, and the
// uniform draws' exact values and range.

import Records
import XCTest

final class RandomTests: XCTestCase {
    func testSeedsMatchTheReferenceGenerator() {
        // SplitMix64 from seed 0 gives the state; xoshiro256** the outputs.
        var zero = SeededGenerator(seed: 0)
        XCTAssertEqual(zero.state, [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F, 0xF88B_B8A8_724C_81EC])
        XCTAssertEqual((0..<3).map { _ in zero.next() }, [0x99EC_5F36_CB75_F2B4, 0xBF6E_1F78_4956_452A, 0x1A5F_849D_4933_E6E0])
        var fortyTwo = SeededGenerator(seed: 42)
        XCTAssertEqual((0..<3).map { _ in fortyTwo.next() }, [0x1578_0B2E_0C2E_C716, 0x6104_D986_6D11_3A7E, 0xAE17_5332_39E4_99A1])
    }

    func testSameSeedSameNumbersAndStateResumes() {
        var a = SeededGenerator(seed: 9), b = SeededGenerator(seed: 9), c = SeededGenerator(seed: 10)
        let first = (0..<100).map { _ in a.next() }
        XCTAssertEqual(first, (0..<100).map { _ in b.next() })
        XCTAssertNotEqual(first, (0..<100).map { _ in c.next() })
        // A generator given another's state continues exactly as it does.
        var resumed = SeededGenerator(seed: 1)
        resumed.state = a.state
        XCTAssertEqual((0..<50).map { _ in resumed.next() }, (0..<50).map { _ in a.next() })
    }

    func testStreamsAreSeededByFNV1aOfSeedAndName() {
        XCTAssertEqual(StableHash.fnv1a64([UInt8]()), 0xCBF2_9CE4_8422_2325)
        XCTAssertEqual(StableHash.fnv1a64(Array("a".utf8)), 0xAF63_DC4C_8601_EC8C)
        // Seed 77's 8 little-endian bytes, then "b".
        var stream = SeededGenerator(seed: 77, stream: "b")
        XCTAssertEqual(stream.state, SeededGenerator(seed: 0x7AD8_7BB8_091D_F0FE).state)
        XCTAssertEqual(stream.next(), 0xB830_C01E_AB4F_FCBD)
        // Streams differ by name and by seed.
        func draws(_ seed: UInt64, _ name: String) -> [UInt64] {
            var g = SeededGenerator(seed: seed, stream: name)
            return (0..<8).map { _ in g.next() }
        }
        XCTAssertNotEqual(draws(77, "a"), draws(77, "b"))
        XCTAssertNotEqual(draws(77, "a"), draws(78, "a"))
        XCTAssertEqual(draws(77, "vol/3/5/9"), draws(77, "vol/3/5/9"))
    }

    func testUniformValuesAndRange() {
        // The top 24 bits of the first outputs of seed 42 are 1406987 and 6358233:
        // −1 + 2 · k / 2²⁴, exact in Float.
        var g = SeededGenerator(seed: 42)
        XCTAssertEqual(g.uniform(-1, 1), Float(1_406_987 - 8_388_608) / 8_388_608)
        XCTAssertEqual(g.uniform(-1, 1), Float(6_358_233 - 8_388_608) / 8_388_608)
        var draws = [Float]()
        for _ in 0..<10_000 { draws.append(g.uniform(2, 5)) }
        XCTAssertTrue(draws.allSatisfy { $0 >= 2 && $0 < 5 })
        XCTAssertLessThan(draws.min()!, 2.01)
        XCTAssertGreaterThan(draws.max()!, 4.99)
        // Mean 3.5, standard error 3/√12/100 ≈ 0.009.
        XCTAssertEqual(Double(draws.reduce(0, +)) / 10_000, 3.5, accuracy: 0.05)
        XCTAssertTrue((0..<1000).allSatisfy { _ in (0..<1).contains(g.uniform()) })
        XCTAssertTrue((0..<1000).allSatisfy { _ in (0..<7).contains(g.index(below: 7)) })
    }
}
