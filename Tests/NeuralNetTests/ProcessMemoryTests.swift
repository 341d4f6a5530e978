// ProcessMemory against what this test does to the process: touching a 64 MB buffer raises the
// resident set and its peak by about that much; after freeing it and restarting the peak, the
// peak is back near the resident set, far below the high-water mark it had.

import NeuralNet
import XCTest

final class ProcessMemoryTests: XCTestCase {
    func testPeakFollowsA64MBBufferAndRestarts() throws {
        guard let before = ProcessMemory.resident else { throw XCTSkip("no /proc/self/status here") }
        XCTAssertTrue(ProcessMemory.resetPeak())
        let bytes = 64 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 4096)
        buffer.initializeMemory(as: UInt8.self, repeating: 1, count: bytes)  // touched, so resident
        let during = try XCTUnwrap(ProcessMemory.resident)
        if during - before < bytes / 10 {
            // Some sandboxes (CI's among them) emulate /proc and do not count touched pages in VmRSS;
            // there is nothing to measure against, and `speed` prints what the kernel reports.
            buffer.deallocate()
            throw XCTSkip("this kernel's VmRSS did not follow a touched 64 MB buffer (\(before) → \(during) bytes)")
        }
        XCTAssertGreaterThan(during - before, bytes * 9 / 10)
        buffer.deallocate()
        ProcessMemory.trim()
        let peak = try XCTUnwrap(ProcessMemory.peakResident)
        XCTAssertGreaterThan(peak, during - (1 << 20), "the kernel's peak lags its per-thread counters by up to a few pages")
        XCTAssertLessThan(try XCTUnwrap(ProcessMemory.resident), during - bytes / 2, "the buffer went back to the system")
        ProcessMemory.resetPeak()
        XCTAssertLessThan(try XCTUnwrap(ProcessMemory.peakResident), peak - bytes / 2, "a restarted peak forgets the buffer")
    }
}
